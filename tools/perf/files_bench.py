#!/usr/bin/env python3
"""Shared files on loopback (issue 15): upload and download throughput, and
the server's resident memory while a file streams in.

    python3 tools/perf/files_bench.py [--server target/release/server] [--sizes 16M,256M,1G]

Starts the server binary with a temporary data directory, logs in over
CHAT/1, and for each size: asks UPLOAD, PUTs that many bytes over HTTP (one
socket, 1 MiB writes) while a thread reads the server's VmRSS from
/proc/PID/status every 20 ms, then GETs the file back (reading into a
discarded buffer). Prints one line per size, and a JSON line per size on
stdout. RSS must not grow with the file: the server streams uploads to disk
in 64 KiB buffers. Only the standard library; every socket has a timeout.
"""

import argparse
import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import threading
import time

UNITS = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}


def size(text):
    m = re.fullmatch(r"(\d+)([KMG]?)", text.strip(), re.I)
    if not m:
        raise argparse.ArgumentTypeError(f"not a size: {text}")
    return int(m.group(1)) * UNITS.get(m.group(2).upper(), 1)


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


class Sampler(threading.Thread):
    """The highest VmRSS of `pid` seen while it runs."""

    def __init__(self, pid):
        super().__init__(daemon=True)
        self.pid, self.peak, self.stop = pid, 0, threading.Event()

    def run(self):
        while not self.stop.is_set():
            self.peak = max(self.peak, rss_kib(self.pid))
            time.sleep(0.02)


class Chat:
    def __init__(self, addr):
        self.s = socket.create_connection(addr, timeout=30)
        self.f = self.s.makefile("r", encoding="utf-8")

    def send(self, line):
        self.s.sendall((line + "\n").encode())

    def wait(self, prefix):
        while True:
            line = self.f.readline()
            if not line:
                raise RuntimeError(f"connection closed waiting for {prefix}")
            if line.startswith(prefix):
                return line.rstrip("\n")
            if line.startswith("ERR"):
                raise RuntimeError(line.strip())


def http_head(sock):
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            break
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    return head.decode("latin-1"), rest


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--server", default="target/release/server")
    ap.add_argument("--sizes", default="16M,256M,1G")
    args = ap.parse_args()
    sizes = [size(s) for s in args.sizes.split(",")]
    data_dir = tempfile.mkdtemp(prefix="sala-files-bench-")
    server = subprocess.Popen(
        [args.server, "--listen", "127.0.0.1:0", "--web-listen", "127.0.0.1:0",
         "--data-dir", data_dir, "--flood-rate", "0",
         "--max-file-size", "4G", "--user-files-quota", "16G", "--files-quota", "16G"],
        stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True)
    chat_addr = web_addr = None
    try:
        for line in server.stderr:
            if "listening on " in line:
                h, p = line.split("listening on ")[1].strip().rsplit(":", 1)
                chat_addr = (h, int(p))
            if "web client on http://" in line:
                h, p = line.split("http://")[1].strip().rstrip("/").rsplit(":", 1)
                web_addr = (h, int(p))
            if chat_addr and web_addr:
                break
        threading.Thread(target=lambda: [None for _ in server.stderr], daemon=True).start()
        chat = Chat(chat_addr)
        chat.wait("WELCOME")
        chat.send("NICK bench")
        chat.wait("NICK ")
        chat.send("JOIN bench")
        chat.wait("END HISTORY")
        idle = rss_kib(server.pid)
        block = os.urandom(1 << 20)
        print(f"server RSS before any upload: {idle} KiB", file=sys.stderr)
        for n in sizes:
            chat.send(f"UPLOAD bench {n} blob-{n}.bin")
            url = chat.wait("OK UPLOAD ").split(" ", 2)[2]
            path = "/" + url.split("://", 1)[1].split("/", 1)[1]
            sampler = Sampler(server.pid)
            sampler.start()
            s = socket.create_connection(web_addr, timeout=120)
            start = time.monotonic()
            s.sendall(f"PUT {path} HTTP/1.1\r\nHost: x\r\nContent-Length: {n}\r\n\r\n".encode())
            left = n
            while left:
                k = min(left, len(block))
                s.sendall(block[:k])
                left -= k
            head, body = http_head(s)
            while True:
                more = s.recv(65536)
                if not more:
                    break
                body += more
            up = time.monotonic() - start
            sampler.stop.set()
            sampler.join()
            s.close()
            if " 201 " not in head.split("\r\n")[0]:
                raise RuntimeError(f"upload refused: {head} {body!r}")
            file_url = body.decode().strip()
            chat.wait("MSG bench bench [file]")
            fpath = "/" + file_url.split("://", 1)[1].split("/", 1)[1]
            s = socket.create_connection(web_addr, timeout=120)
            start = time.monotonic()
            s.sendall(f"GET {fpath} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
            head, rest = http_head(s)
            got = len(rest)
            buf = bytearray(1 << 20)
            while True:
                k = s.recv_into(buf)
                if not k:
                    break
                got += k
            down = time.monotonic() - start
            s.close()
            if got != n:
                raise RuntimeError(f"downloaded {got} of {n} bytes")
            mib = n / (1 << 20)
            result = {
                "bytes": n,
                "upload_mb_s": round(n / up / 1e6, 1),
                "download_mb_s": round(n / down / 1e6, 1),
                "rss_idle_kib": idle,
                "rss_peak_during_upload_kib": sampler.peak,
            }
            print(f"{mib:8.0f} MiB: upload {result['upload_mb_s']:7.1f} MB/s, "
                  f"download {result['download_mb_s']:7.1f} MB/s, "
                  f"server RSS peak during upload {sampler.peak} KiB (idle {idle} KiB)",
                  file=sys.stderr)
            print(json.dumps(result))
    finally:
        server.terminate()
        server.wait(timeout=30)
        subprocess.run(["rm", "-rf", data_dir], check=False)


if __name__ == "__main__":
    main()
