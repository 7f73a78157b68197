"""Stand-ins for outside systems: the loopback mail server and the embedded services of the demo and tests."""
