"""``tickwire bench``: every stage measured against its peers in one run (see ``cmd/bench.py``).

Each module measures one stage and returns :class:`~tickwire.bench.report.Result` rows; rounds
alternate the contenders so the noise of a shared machine hits them alike, and every figure is
read as a ratio to the peer measured in the same run.
"""
