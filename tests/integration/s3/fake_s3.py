#!/usr/bin/env python3
"""An S3 endpoint that fails, for the error paths a real server cannot be
made to produce on demand: fake_s3.py PORT MODE COUNTFILE.
  slowdown  every request gets 503 SlowDown
  slow      every request waits 30 s before its answer
Each request's method is appended to COUNTFILE. Loopback only."""
import http.server, sys, time

port, mode, countfile = int(sys.argv[1]), sys.argv[2], sys.argv[3]


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def answer(self):
        with open(countfile, "a") as f:
            f.write(self.command + "\n")
        n = int(self.headers.get("Content-Length") or 0)
        if n:
            self.rfile.read(n)
        if mode == "slow":
            time.sleep(30)
        body = (b'<?xml version="1.0" encoding="UTF-8"?><Error><Code>SlowDown'
                b'</Code><Message>Please reduce your request rate.</Message></Error>')
        self.send_response(503)
        self.send_header("Content-Type", "application/xml")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = answer


http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler).serve_forever()
