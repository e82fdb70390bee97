"""The echo benchmark's runner, in pieces: processes.py starts and always
stops what it runs, peers.py knows the servers, load.py drives the load
generator, figures.py counts per request (CPU, instructions, system calls),
report.py writes the table, the JSON and the chart. scripts/bench-echo ties
them together."""
