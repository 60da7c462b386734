#!/usr/bin/env python3
"""free_ports.py COUNT: print a port P such that 127.0.0.1:P .. P+COUNT-1 are free for both
TCP and UDP, picked at random in 20000..32000 (below Linux's ephemeral range, where
kafka-dev's own ports land), so that the live monitoring test can run beside other tests
and a running development stack."""
import random
import socket
import sys

count = int(sys.argv[1])
for _ in range(300):
    base = random.randrange(20000, 32000 - count)
    socks = []
    try:
        for p in range(base, base + count):
            for kind in (socket.SOCK_STREAM, socket.SOCK_DGRAM):
                s = socket.socket(socket.AF_INET, kind)
                socks.append(s)
                s.bind(("127.0.0.1", p))
    except OSError:
        continue
    finally:
        for s in socks:
            s.close()
    print(base)
    sys.exit(0)
sys.exit("free_ports: no %d consecutive free ports" % count)
