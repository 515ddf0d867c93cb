#!/usr/bin/python3
"""A fast fake SSH backend for the benchmark (stdlib only, one thread,
selectors/epoll).

On every connection it first sends an SSH identification line
("SSH-2.0-bench\\r\\n"), then reads the client's identification line and
acts on it:

  sink mode (--mode sink):
    "SSH-2.0-up-N"    read N more bytes (discarded), then answer "DONE\\r\\n"
    "SSH-2.0-down-N"  stream N bytes back
    "SSH-2.0-stats"   answer "accepted=A lines=L bytes=B\\r\\n" (counters of
                      this process; used by the benchmark's sanity checks)
    anything else     discard everything until the client closes
  echo mode (--mode echo):
    every byte after the client's identification line is echoed back.

With --skip-hello, each connection starts with one TLS record (the
ClientHello a passthrough client sends first), which is skipped whole
before the identification line is looked for.

The listening port is chosen by the kernel and written to --port-file.
"""

import argparse
import errno
import os
import selectors
import signal
import socket
import sys

BANNER = b"SSH-2.0-bench\r\n"
LINE_MAX = 255
CHUNK = bytes(range(256)) * 1024          # 256 KiB of payload to stream


class Conn:
    __slots__ = ("sock", "line", "have_line", "out", "outoff", "todo",
                 "up_left", "events", "skip", "hdr")

    def __init__(self, sock, skip_hello=False):
        self.sock = sock
        self.line = b""
        self.have_line = False
        self.out = [BANNER]       # queued byte strings
        self.outoff = 0           # offset into out[0]
        self.todo = 0             # payload bytes still to stream
        self.up_left = -1         # bytes still expected before "DONE"
        self.events = 0
        self.skip = -1 if skip_hello else 0   # -1: record header to read
        self.hdr = b""


class Backend:
    def __init__(self, mode, lsock, skip_hello=False):
        self.mode = mode
        self.skip_hello = skip_hello
        self.lsock = lsock
        self.sel = selectors.DefaultSelector()
        self.buf = bytearray(1 << 20)
        self.view = memoryview(self.buf)
        self.chunk = memoryview(CHUNK)
        self.accepted = 0
        self.lines = 0
        self.bytes_in = 0
        self.sel.register(lsock, selectors.EVENT_READ, None)

    def want(self, c):
        ev = selectors.EVENT_READ
        if c.out or c.todo:
            ev |= selectors.EVENT_WRITE
        if ev != c.events:
            self.sel.modify(c.sock, ev, c)
            c.events = ev

    def close(self, c):
        try:
            self.sel.unregister(c.sock)
        except (KeyError, ValueError):
            pass
        c.sock.close()

    def accept(self):
        for _ in range(64):
            try:
                s, _ = self.lsock.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError as e:
                if e.errno in (errno.EMFILE, errno.ENFILE, errno.ENOBUFS,
                               errno.ENOMEM):
                    print("backend: accept: %s" % e, file=sys.stderr,
                          flush=True)
                    return
                if e.errno == errno.ECONNABORTED:
                    continue
                raise
            s.setblocking(False)
            s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self.accepted += 1
            c = Conn(s, self.skip_hello)
            c.events = selectors.EVENT_READ | selectors.EVENT_WRITE
            self.sel.register(s, c.events, c)

    def on_line(self, c, line):
        self.lines += 1
        text = line.rstrip(b"\r\n")
        if self.mode != "sink":
            return
        try:
            if text.startswith(b"SSH-2.0-up-"):
                c.up_left = int(text[11:])
            elif text.startswith(b"SSH-2.0-down-"):
                c.todo = int(text[13:])
            elif text == b"SSH-2.0-stats":
                c.out.append(b"accepted=%d lines=%d bytes=%d\r\n" %
                             (self.accepted, self.lines, self.bytes_in))
        except ValueError:
            pass

    def payload(self, c, data):
        """Bytes after the identification line."""
        if self.mode == "echo":
            c.out.append(bytes(data))
        elif c.up_left > 0:
            c.up_left -= len(data)
            if c.up_left <= 0:
                c.up_left = -1
                c.out.append(b"DONE\r\n")

    @staticmethod
    def skip_record(c, data):
        """Takes what is left of the first TLS record off data."""
        while len(data) and c.skip:
            if c.skip < 0:
                k = 5 - len(c.hdr)
                c.hdr += bytes(data[:k])
                data = data[k:]
                if len(c.hdr) == 5:
                    c.skip = int.from_bytes(c.hdr[3:5], "big")
            else:
                k = min(c.skip, len(data))
                c.skip -= k
                data = data[k:]
        return data

    def readable(self, c):
        for _ in range(16):
            try:
                n = c.sock.recv_into(self.buf)
            except (BlockingIOError, InterruptedError):
                return True
            except OSError:
                return False
            if n == 0:
                return False
            self.bytes_in += n
            data = self.view[:n]
            if c.skip:
                data = self.skip_record(c, data)
            if not c.have_line and len(data):
                i = bytes(data).find(b"\n")
                if i < 0:
                    c.line += bytes(data)
                    if len(c.line) > LINE_MAX:
                        c.have_line = True      # not a line: just sink
                    continue
                c.line += bytes(data[:i + 1])
                c.have_line = True
                self.on_line(c, c.line)
                data = data[i + 1:]
            if len(data):
                self.payload(c, data)
            if self.mode == "echo" and len(c.out) > 64:
                break                            # let writes catch up
            if n < len(self.buf):
                break
        return True

    def writable(self, c):
        try:
            while c.out:
                head = c.out[0]
                n = c.sock.send(memoryview(head)[c.outoff:])
                c.outoff += n
                if c.outoff < len(head):
                    return True
                c.out.pop(0)
                c.outoff = 0
            for _ in range(64):
                if not c.todo:
                    break
                k = min(c.todo, len(self.chunk))
                n = c.sock.send(self.chunk[:k])
                c.todo -= n
                if n < k:
                    return True
        except (BlockingIOError, InterruptedError):
            return True
        except OSError:
            return False
        return True

    def run(self):
        while True:
            for key, ev in self.sel.select():
                c = key.data
                if c is None:
                    self.accept()
                    continue
                ok = True
                if ev & selectors.EVENT_WRITE:
                    ok = self.writable(c)
                if ok and ev & selectors.EVENT_READ:
                    ok = self.readable(c)
                if ok and (c.out or c.todo):
                    ok = self.writable(c)
                if ok:
                    self.want(c)
                else:
                    self.close(c)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--listen", required=True, help="IPv4 address")
    ap.add_argument("--mode", choices=("sink", "echo"), required=True)
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--skip-hello", action="store_true",
                    help="skip one TLS record (a ClientHello) first")
    a = ap.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
    signal.signal(signal.SIGINT, lambda *_: os._exit(0))
    ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind((a.listen, 0))
    ls.listen(4096)
    ls.setblocking(False)
    tmp = a.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write("%d\n" % ls.getsockname()[1])
    os.rename(tmp, a.port_file)
    Backend(a.mode, ls, a.skip_hello).run()


if __name__ == "__main__":
    main()
