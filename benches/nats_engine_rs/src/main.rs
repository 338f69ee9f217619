//! `nats-engine`: the pure-Rust contenders (async-nats on a current-thread tokio runtime).
//!
//!   nats-engine sub <url> <subject> <warm> lat|count   prints "ready", then one JSON result line
//!   nats-engine pub <url> <subject> <n> <gap_us> <warm> prints "ready", then one JSON result line
//!
//! `sub lat` stamps each message on arrival (the floor of publish→callback without Python);
//! `sub count` only counts (fan-out throughput). `pub` publishes `warm + n` messages, `gap_us`
//! apart (0: as fast as it can), then END, and reports each `publish().await`'s cost.

#[path = "common.rs"]
mod common;

use common::{cpu_ns, header, message, monotonic_ns, END};
use futures::StreamExt;
use std::io::Write;
use std::time::Duration;

fn arg(args: &[String], i: usize) -> &str {
    args.get(i).map(String::as_str).unwrap_or_else(|| {
        eprintln!("usage: nats-engine sub <url> <subject> <warm> lat|count | pub <url> <subject> <n> <gap_us> <warm>");
        std::process::exit(2)
    })
}

fn list(xs: &[u64]) -> String {
    let v: Vec<String> = xs.iter().map(u64::to_string).collect();
    format!("[{}]", v.join(","))
}

fn ready() {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "ready");
    let _ = out.flush();
}

async fn sub(url: &str, subject: &str, warm: u64, lat_mode: bool) -> Result<String, async_nats::Error> {
    let client = async_nats::ConnectOptions::new().no_echo().connect(url).await?;
    let mut sub = client.subscribe(subject.to_string()).await?;
    client.flush().await?;
    ready();
    let mut lat = Vec::with_capacity(1 << 16);
    let (mut n, mut t_first, mut t_last, mut cpu_first) = (0u64, 0u64, 0u64, 0u64);
    loop {
        let msg = match tokio::time::timeout(Duration::from_secs(10), sub.next()).await {
            Ok(Some(m)) => m,
            _ => break, // idle for 10 s (messages lost) or the connection closed
        };
        let now = monotonic_ns();
        let Some((stamp, seq)) = header(&msg.payload) else { continue };
        if seq == END {
            break;
        }
        if seq < warm {
            continue;
        }
        if lat_mode {
            lat.push(now.saturating_sub(stamp));
        } else if n == 0 {
            (t_first, cpu_first) = (now, cpu_ns());
        }
        t_last = now;
        n += 1;
    }
    // count mode: rate = (n - 1) / (t_last - t_first), CPU/msg = (cpu_last - cpu_first) / (n - 1)
    Ok(format!(
        "{{\"n\":{n},\"lat\":{},\"t_first\":{t_first},\"t_last\":{t_last},\"cpu_first\":{cpu_first},\"cpu_last\":{}}}",
        list(&lat),
        cpu_ns(),
    ))
}

async fn publish(
    url: &str,
    subject: &str,
    n: u64,
    gap_us: u64,
    warm: u64,
) -> Result<String, async_nats::Error> {
    let client = async_nats::ConnectOptions::new().no_echo().connect(url).await?;
    client.flush().await?;
    ready();
    let subject = async_nats::Subject::from(subject);
    let total = warm + n;
    let mut cost = Vec::with_capacity(if gap_us > 0 { total as usize } else { 0 });
    let (mut cpu0, mut t0) = (cpu_ns(), monotonic_ns());
    for seq in 0..total {
        if seq == warm {
            (cpu0, t0) = (cpu_ns(), monotonic_ns());
        }
        let stamp = monotonic_ns();
        let payload = bytes::Bytes::copy_from_slice(&message(stamp, seq));
        client.publish(subject.clone(), payload).await?;
        if gap_us > 0 {
            if seq >= warm {
                cost.push(monotonic_ns() - stamp);
            }
            tokio::time::sleep(Duration::from_micros(gap_us)).await;
        }
    }
    client.flush().await?;
    let (cpu, wall) = (cpu_ns() - cpu0, monotonic_ns() - t0);
    client.publish(subject, bytes::Bytes::copy_from_slice(&message(0, END))).await?;
    client.flush().await?;
    Ok(format!("{{\"n\":{n},\"pub_ns\":{},\"cpu_ns\":{cpu},\"wall_ns\":{wall}}}", list(&cost)))
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("tokio runtime");
    let out = match arg(&args, 1) {
        "sub" => {
            let warm = arg(&args, 4).parse().expect("warm");
            rt.block_on(sub(arg(&args, 2), arg(&args, 3), warm, arg(&args, 5) == "lat"))
        }
        "pub" => {
            let n = arg(&args, 4).parse().expect("n");
            let gap = arg(&args, 5).parse().expect("gap_us");
            let warm = arg(&args, 6).parse().expect("warm");
            rt.block_on(publish(arg(&args, 2), arg(&args, 3), n, gap, warm))
        }
        other => {
            eprintln!("unknown command {other}");
            std::process::exit(2)
        }
    };
    match out {
        Ok(line) => println!("{line}"),
        Err(e) => {
            eprintln!("nats-engine: {e}");
            std::process::exit(1)
        }
    }
}
