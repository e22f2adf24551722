"""A real SMTP server for the tests (aiosmtpd, pinned in requirements-dev.txt), on a loopback
address only: each message it accepts is written to DIR as <n>.eml (written whole, then renamed,
so a reader never sees half a message). Started by the Rust tests (tests/api/mail.rs).

    python tests/mail/smtp_sink.py DIR [--fail-first N]

Prints `READY <port>` once it listens. With --fail-first N, the first N messages are answered
451 (a transient refusal: the sender must try again later), to prove the outbox retries.
"""
import argparse
import asyncio
import itertools
import os
import socket
import sys

from aiosmtpd.controller import Controller


class Sink:
    def __init__(self, directory, fail_first):
        self.directory = directory
        self.fail_left = fail_first
        self.count = itertools.count(1)

    async def handle_DATA(self, server, session, envelope):
        if self.fail_left > 0:
            self.fail_left -= 1
            return "451 4.3.0 try again later (the test's refusal)"
        n = next(self.count)
        tmp = os.path.join(self.directory, f".{n}.tmp")
        with open(tmp, "wb") as f:
            f.write(f"X-Envelope-To: {', '.join(envelope.rcpt_tos)}\r\n".encode())
            f.write(envelope.original_content or envelope.content)
        os.rename(tmp, os.path.join(self.directory, f"{n}.eml"))
        return "250 2.0.0 OK"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("directory")
    parser.add_argument("--fail-first", type=int, default=0)
    args = parser.parse_args()
    port = free_port()
    controller = Controller(Sink(args.directory, args.fail_first), hostname="127.0.0.1", port=port)
    controller.start()
    print(f"READY {port}", flush=True)
    try:
        # Until the test kills us or closes our stdin.
        sys.stdin.read()
    finally:
        controller.stop()


if __name__ == "__main__":
    main()
