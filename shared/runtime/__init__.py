"""What every program of both styles runs on, below the lessons.

- config.py: every setting, an environment variable with a localhost default;
- db.py: each service's own database (SQLite or PostgreSQL) and its transactions;
- logs.py: log lines that carry the correlation id;
- heartbeat.py: a process proves it is alive with a row that GET /health reads;
- faults.py: the fault settings a program can be started with, and the tests' crash points;
- strict_json.py: JSON read the way every service must, over HTTP and from the broker.
"""
