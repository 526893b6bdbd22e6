#!/usr/bin/env python3
"""Counts IPsec packets on the wire of an interface for a while, as tcpdump
would (an AF_PACKET socket sees every frame): plain ESP (IP protocol 50),
ESP in UDP (port 4500, first four payload octets non-zero: RFC 3948),
IKE on port 4500 (the four zero octets of the non-ESP marker) and NAT
keepalives (one octet 0xFF). IPv4 only; incoming and outgoing frames both.
Prints "listening on IFACE" once capturing; at the end "esp N", "espinudp N",
"ike4500 N", "keepalive N" and, for ESP in UDP, the UDP port pairs seen
("pair SRC:SPORT>DST:DPORT N").
Usage: wire_count.py IFACE SECONDS (root)."""
import collections
import socket
import struct
import sys
import time

ETH_P_ALL = 0x0003
ETH_P_IP = 0x0800
NATT = 4500


def main():
    iface, secs = sys.argv[1], float(sys.argv[2])
    # ETH_P_ALL: a socket for one protocol does not see outgoing frames.
    s = socket.socket(socket.AF_PACKET, socket.SOCK_DGRAM, socket.htons(ETH_P_ALL))
    s.bind((iface, 0))
    print("listening on %s" % iface, flush=True)
    end = time.monotonic() + secs
    n = collections.Counter()
    pairs = collections.Counter()
    while True:
        left = end - time.monotonic()
        if left <= 0:
            break
        s.settimeout(left)
        try:
            ip, addr = s.recvfrom(65535)
        except socket.timeout:
            break
        if addr[1] != ETH_P_IP or len(ip) < 20 or ip[0] >> 4 != 4:
            continue
        ihl = (ip[0] & 0x0F) * 4
        src, dst = socket.inet_ntoa(ip[12:16]), socket.inet_ntoa(ip[16:20])
        if ip[9] == 50:
            n["esp"] += 1
            continue
        if ip[9] != socket.IPPROTO_UDP or len(ip) < ihl + 8:
            continue
        sport, dport, ulen = struct.unpack("!HHH", ip[ihl:ihl + 6])
        if NATT not in (sport, dport):
            continue
        payload = ip[ihl + 8:ihl + ulen]
        if payload == b"\xff":
            n["keepalive"] += 1
        elif len(payload) >= 4 and payload[:4] == b"\0\0\0\0":
            n["ike4500"] += 1
        elif len(payload) > 8:
            n["espinudp"] += 1
            pairs["%s:%d>%s:%d" % (src, sport, dst, dport)] += 1

    for k in ("esp", "espinudp", "ike4500", "keepalive"):
        print("%s %d" % (k, n[k]))
    for p, c in sorted(pairs.items()):
        print("pair %s %d" % (p, c))
    sys.stdout.flush()


if __name__ == "__main__":
    main()
