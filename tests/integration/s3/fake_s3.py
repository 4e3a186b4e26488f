#!/usr/bin/env python3
"""An S3 endpoint that fails, for the error paths a real server cannot be
made to produce on demand: fake_s3.py PORT MODE COUNTFILE.
  slowdown  every request gets 503 SlowDown
  slow      every request waits 30 s before its answer
  lax       keeps objects in memory (PUT, ranged GET, HEAD, DELETE) and,
            like some S3 servers, ignores If-None-Match: it overwrites
Each request's method is appended to COUNTFILE. Loopback only."""
import http.server, sys, time

port, mode, countfile = int(sys.argv[1]), sys.argv[2], sys.argv[3]


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def send(self, code, body=b"", headers=()):
        self.send_response(code)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def lax(self, body):
        key = self.path.split("?")[0]
        if self.command == "PUT":
            objects[key] = body
            return self.send(200, headers=(("ETag", '"%d-%d"' % (len(body), hash(body) & 0xffff)),))
        if key not in objects:
            return self.send(404, b"<Error><Code>NoSuchKey</Code></Error>")
        data = objects[key]
        if self.command == "DELETE":
            del objects[key]
            return self.send(204)
        etag = ("ETag", '"%d-%d"' % (len(data), hash(data) & 0xffff))
        rng = self.headers.get("Range")
        if rng and self.command == "GET":
            a, b = rng.split("=")[1].split("-")
            a, b = int(a), min(int(b), len(data) - 1)
            return self.send(206, data[a:b + 1], (etag, ("Content-Range", "bytes %d-%d/%d" % (a, b, len(data)))))
        return self.send(200, data, (etag,))

    def answer(self):
        with open(countfile, "a") as f:
            f.write(self.command + "\n")
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n) if n else b""
        if mode == "lax":
            return self.lax(body)
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


objects = {}
http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler).serve_forever()
