#!/usr/bin/env python3
"""free_ports.py COUNT: print a port P such that 127.0.0.1:P .. P+COUNT-1 are all free (TCP),
picked at random in 20000..59999 so that concurrent runs and a running dev stack do not clash."""
import random
import socket
import sys

count = int(sys.argv[1])
rnd = random.Random()
for _ in range(200):
    base = rnd.randrange(20000, 60000 - count)
    socks = []
    try:
        for p in range(base, base + count):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            socks.append(s)
            s.bind(("127.0.0.1", p))
    except OSError:
        continue
    finally:
        for s in socks:
            s.close()
    print(base)
    sys.exit(0)
sys.exit("free_ports: no %d consecutive free ports found" % count)
