"""A test peer that makes the effect of the first POST and then closes the
connection without answering, as a server that crashed after committing
would. GET answers how many POSTs arrived, over a keep-alive connection,
so that the POST that follows goes out on a reused connection: the case in
which libcurl would otherwise send the POST again on its own. Prints
"listening on PORT"."""
import json
import socketserver
from http.server import BaseHTTPRequestHandler, HTTPServer

POSTS = {"count": 0}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def answer(self, status, body):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        self.answer(200, POSTS)

    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        POSTS["count"] += 1
        if POSTS["count"] == 1:
            self.close_connection = True
            self.connection.shutdown(2)
            return
        self.answer(201, {"id": "obj-%d" % POSTS["count"]})


class Server(socketserver.ThreadingMixIn, HTTPServer):
    daemon_threads = True


server = Server(("127.0.0.1", 0), Handler)
print("listening on", server.server_address[1], flush=True)
server.serve_forever()
