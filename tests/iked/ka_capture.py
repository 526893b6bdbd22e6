#!/usr/bin/env python3
"""Counts NAT keepalives (RFC 3948 §2.3: one UDP octet 0xFF) on the wire of
an interface for a while: an AF_PACKET socket sees every frame, as tcpdump
would. Prints one line per keepalive ("keepalive SRC:SPORT -> DST:DPORT")
and the total. Usage: ka_capture.py IFACE SECONDS (root)."""
import socket
import struct
import sys
import time

ETH_P_ALL = 0x0003
PACKET_OUTGOING = 4


def main():
    iface, secs = sys.argv[1], float(sys.argv[2])
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
    s.bind((iface, 0))
    end = time.monotonic() + secs
    n = 0
    while True:
        left = end - time.monotonic()
        if left <= 0:
            break
        s.settimeout(left)
        try:
            frame, addr = s.recvfrom(65535)
        except socket.timeout:
            break
        if addr[2] == PACKET_OUTGOING:  # lo shows each packet twice
            continue
        ip = frame[14:]  # lo frames carry an all-zero Ethernet header
        if len(ip) < 20 or ip[0] >> 4 != 4 or ip[9] != socket.IPPROTO_UDP:
            continue
        ihl = (ip[0] & 0x0F) * 4
        sport, dport, ulen = struct.unpack("!HHH", ip[ihl:ihl + 6])
        payload = ip[ihl + 8:ihl + ulen]
        if payload == b"\xff":
            n += 1
            print("keepalive %s:%d -> %s:%d" % (socket.inet_ntoa(ip[12:16]), sport,
                                                socket.inet_ntoa(ip[16:20]), dport), flush=True)
    print("total %d" % n, flush=True)


if __name__ == "__main__":
    main()
