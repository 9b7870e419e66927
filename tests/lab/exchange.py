"""The lab's Exchange and Lync test double: HTTPS and HTTP servers on each
scenario host's loopback address that answer as Exchange does
(reference/protocol.md §1-§3, §8).

Owns: one threaded server per host and port, TLS per host (its certificate
chain and TLS version range), the answers of each endpoint kind (SOAP and
POX Autodiscover, the HTTP redirect method, EWS with a real NTLM handshake,
plain statuses and redirects, hostile behaviours), and the request log
(one JSON object per request; never a credential).
"""
import json
import socket
import ssl
import struct
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import ntlm

NS_SOAP = "http://schemas.xmlsoap.org/soap/envelope/"
NS_AD = "http://schemas.microsoft.com/exchange/2010/Autodiscover"
NS_WSA = "http://www.w3.org/2005/08/addressing"
NS_XSI = "http://www.w3.org/2001/XMLSchema-instance"
NS_POX = "http://schemas.microsoft.com/exchange/autodiscover/responseschema/2006"
NS_POXA = ("http://schemas.microsoft.com/exchange/autodiscover/outlook/"
           "responseschema/2006a")
NS_M = "http://schemas.microsoft.com/exchange/services/2006/messages"
NS_T = "http://schemas.microsoft.com/exchange/services/2006/types"
NS_E = "http://schemas.microsoft.com/exchange/services/2006/errors"

TLS_VERSIONS = {
    "1.0": ssl.TLSVersion.TLSv1,
    "1.1": ssl.TLSVersion.TLSv1_1,
    "1.2": ssl.TLSVersion.TLSv1_2,
    "1.3": ssl.TLSVersion.TLSv1_3,
}


def soap_user_response(error_code, body):
    """A GetUserSettings answer with one UserResponse (protocol.md §1.3)."""
    return f"""<?xml version="1.0" encoding="utf-8"?>
<s:Envelope xmlns:s="{NS_SOAP}" xmlns:a="{NS_WSA}">
  <s:Header>
    <a:Action s:mustUnderstand="1">http://schemas.microsoft.com/exchange/2010/Autodiscover/Autodiscover/GetUserSettingsResponse</a:Action>
    <h:ServerVersionInfo xmlns:h="{NS_AD}" xmlns:i="{NS_XSI}">
      <h:MajorVersion>15</h:MajorVersion>
      <h:MinorVersion>1</h:MinorVersion>
      <h:MajorBuildNumber>2507</h:MajorBuildNumber>
      <h:MinorBuildNumber>6</h:MinorBuildNumber>
      <h:Version>Exchange2015</h:Version>
    </h:ServerVersionInfo>
  </s:Header>
  <s:Body>
    <GetUserSettingsResponseMessage xmlns="{NS_AD}">
      <Response xmlns:i="{NS_XSI}">
        <ErrorCode>NoError</ErrorCode>
        <ErrorMessage />
        <UserResponses>
          <UserResponse>
            <ErrorCode>{error_code}</ErrorCode>
{body}
          </UserResponse>
        </UserResponses>
      </Response>
    </GetUserSettingsResponseMessage>
  </s:Body>
</s:Envelope>
"""


def soap_answer(kind, ad, target):
    """The SOAP Autodiscover body for an answer kind."""
    if kind == "settings":
        settings = ""
        for name in ("InternalEwsUrl", "ExternalEwsUrl"):
            url = ad.get(name.replace("EwsUrl", "").lower() + "_ews_url")
            if url:
                settings += f"""              <UserSetting i:type="StringSetting">
                <Name>{name}</Name>
                <Value>{url}</Value>
              </UserSetting>
"""
        return soap_user_response("NoError", f"""            <ErrorMessage>No error.</ErrorMessage>
            <RedirectTarget i:nil="true" />
            <UserSettingErrors />
            <UserSettings>
{settings}            </UserSettings>""")
    if kind in ("redirect_address", "redirect_url"):
        code = "RedirectAddress" if kind == "redirect_address" else \
            "RedirectUrl"
        return soap_user_response(code, f"""            <ErrorMessage>Redirection.</ErrorMessage>
            <RedirectTarget>{target}</RedirectTarget>
            <UserSettingErrors />
            <UserSettings />""")
    if kind == "invalid_user":
        return soap_user_response("InvalidUser", """            <ErrorMessage>Invalid user.</ErrorMessage>
            <RedirectTarget i:nil="true" />
            <UserSettingErrors />
            <UserSettings />""")
    if kind in ("server_busy", "top_error"):
        code = "ServerBusy" if kind == "server_busy" else "InvalidRequest"
        return f"""<?xml version="1.0" encoding="utf-8"?>
<s:Envelope xmlns:s="{NS_SOAP}">
  <s:Body>
    <GetUserSettingsResponseMessage xmlns="{NS_AD}">
      <Response xmlns:i="{NS_XSI}">
        <ErrorCode>{code}</ErrorCode>
        <ErrorMessage>{code}</ErrorMessage>
        <UserResponses />
      </Response>
    </GetUserSettingsResponseMessage>
  </s:Body>
</s:Envelope>
"""
    if kind == "fault":
        return f"""<s:Envelope xmlns:s="{NS_SOAP}">
  <s:Body>
    <s:Fault>
      <faultcode xmlns:a="http://schemas.microsoft.com/net/2005/12/windowscommunicationfoundation/dispatcher">a:InternalServiceFault</faultcode>
      <faultstring xml:lang="en-US">The server was unable to process the request due to an internal error.</faultstring>
    </s:Fault>
  </s:Body>
</s:Envelope>
"""
    raise ValueError(f"unknown soap answer {kind}")


def pox_answer(kind, ad, target):
    """The POX Autodiscover body for an answer kind (protocol.md §2)."""
    if kind in ("error600", "error500"):
        code = kind[5:]
        return f"""<?xml version="1.0" encoding="utf-8"?>
<Autodiscover xmlns="{NS_POX}">
  <Response>
    <Error Time="10:00:00.0000000" Id="2477272013">
      <ErrorCode>{code}</ErrorCode>
      <Message>{"Invalid Request" if code == "600" else "The e-mail address cannot be found."}</Message>
      <DebugData />
    </Error>
  </Response>
</Autodiscover>
"""
    if kind == "settings":
        account = ""
        for ptype, key in (("EXCH", "internal_ews_url"),
                           ("EXPR", "external_ews_url")):
            if ad.get(key):
                account += f"""      <Protocol>
        <Type>{ptype}</Type>
        <Server>casarray.contoso.com</Server>
        <ASUrl>{ad[key]}</ASUrl>
        <EwsUrl>{ad[key]}</EwsUrl>
      </Protocol>
"""
        action = "settings"
    else:
        element = "RedirectAddr" if kind == "redirect_addr" else "RedirectUrl"
        action = "redirectAddr" if kind == "redirect_addr" else "redirectUrl"
        account = f"      <{element}>{target}</{element}>\n"
    return f"""<?xml version="1.0" encoding="utf-8"?>
<Autodiscover xmlns="{NS_POX}">
  <Response xmlns="{NS_POXA}">
    <User>
      <DisplayName>Lab User</DisplayName>
    </User>
    <Account>
      <AccountType>email</AccountType>
      <Action>{action}</Action>
{account}    </Account>
  </Response>
</Autodiscover>
"""


def ews_answer(kind):
    """The EWS GetFolder answer (protocol.md §8): success or a fault."""
    if kind == "fault":
        return 500, f"""<?xml version="1.0" encoding="utf-8"?>
<s:Envelope xmlns:s="{NS_SOAP}">
  <s:Body>
    <s:Fault>
      <faultcode xmlns:a="{NS_T}">a:ErrorSchemaValidation</faultcode>
      <faultstring xml:lang="en-US">The request failed schema validation.</faultstring>
      <detail>
        <e:ResponseCode xmlns:e="{NS_E}">ErrorSchemaValidation</e:ResponseCode>
        <e:Message xmlns:e="{NS_E}">The request failed schema validation.</e:Message>
      </detail>
    </s:Fault>
  </s:Body>
</s:Envelope>
"""
    return 200, f"""<?xml version="1.0" encoding="utf-8"?>
<s:Envelope xmlns:s="{NS_SOAP}">
  <s:Header>
    <h:ServerVersionInfo MajorVersion="15" MinorVersion="1" MajorBuildNumber="2507" MinorBuildNumber="6" Version="V2017_07_11" xmlns:h="{NS_T}" xmlns="{NS_T}" />
  </s:Header>
  <s:Body>
    <m:GetFolderResponse xmlns:m="{NS_M}" xmlns:t="{NS_T}">
      <m:ResponseMessages>
        <m:GetFolderResponseMessage ResponseClass="Success">
          <m:ResponseCode>NoError</m:ResponseCode>
          <m:Folders>
            <t:CalendarFolder>
              <t:FolderId Id="AAMkADlab=" ChangeKey="AgAAAA==" />
            </t:CalendarFolder>
          </m:Folders>
        </m:GetFolderResponseMessage>
      </m:ResponseMessages>
    </m:GetFolderResponse>
  </s:Body>
</s:Envelope>
"""


BILLION_LAUGHS = """<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol">
<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
<!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
<!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">]>
<Autodiscover>&lol5;</Autodiscover>
"""


class QuietServer(ThreadingHTTPServer):
    """A threaded server that does not print client errors."""

    def handle_error(self, request, client_address):
        pass


class Lab:
    """The running double: scenario, lab account, servers, request log."""

    def __init__(self, pki, request_log):
        self.pki = pki
        self.request_log = request_log
        self.log_lock = threading.Lock()
        self.servers = []
        self.scenario = None

    def log(self, record):
        """Append one request record."""
        with self.log_lock, open(self.request_log, "a") as f:
            f.write(json.dumps(record) + "\n")

    def start(self, scenario):
        """Serve scenario: one server per host and port."""
        self.stop()
        self.scenario = scenario
        for name, host in scenario["hosts"].items():
            if host.get("https", True):
                self._serve(name, host, 443, self._tls(host))
            if host.get("http", False):
                self._serve(name, host, 80, None)

    def _tls(self, host):
        """A server TLS context for host's certificate and versions."""
        files = self.pki.leaf(host["cert"])
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        # Old clients (TLS 1.0, SHA-1, RSA-1024) must be servable.
        ctx.set_ciphers("DEFAULT:@SECLEVEL=0")
        lo, hi = host.get("tls", ["1.0", "1.3"])
        ctx.minimum_version = TLS_VERSIONS[lo]
        ctx.maximum_version = TLS_VERSIONS[hi]
        ctx.options |= ssl.OP_NO_TICKET
        ctx.load_cert_chain(files["chain"], files["key"])
        return ctx

    def _serve(self, name, host, port, ctx):
        """Start one threaded server for host on port."""
        handler = type("Handler", (ExchangeHandler,),
                       {"lab": self, "hostname": name, "host": host,
                        "port_no": port})
        srv = QuietServer((host["address"], port), handler,
                                  bind_and_activate=False)
        srv.allow_reuse_address = True
        srv.daemon_threads = True
        srv.server_bind()
        srv.server_activate()
        if ctx is not None:
            srv.socket = ctx.wrap_socket(srv.socket, server_side=True,
                                         do_handshake_on_connect=False)
        threading.Thread(target=srv.serve_forever, daemon=True).start()
        self.servers.append(srv)

    def stop(self):
        """Stop every server."""
        for srv in self.servers:
            srv.shutdown()
            srv.server_close()
        self.servers = []


class ExchangeHandler(BaseHTTPRequestHandler):
    """One connection to a lab host; answers per the host's paths."""
    protocol_version = "HTTP/1.1"
    timeout = 30
    lab = hostname = host = port_no = None

    def log_message(self, *args):
        pass

    def setup(self):
        """Finish the TLS handshake here, so failures stay per connection."""
        if isinstance(self.request, ssl.SSLSocket):
            self.request.settimeout(10)
            try:
                self.request.do_handshake()
            except (ssl.SSLError, OSError):
                self.tls_failed = True
        self.ntlm_challenge = None
        super().setup()

    def handle(self):
        if getattr(self, "tls_failed", False):
            return
        try:
            super().handle()
        except (ConnectionError, ssl.SSLError, socket.timeout):
            pass

    def record(self, status):
        """Log this request: never the value of Authorization."""
        auth = self.headers.get("Authorization")
        tls = (self.request.version()
               if isinstance(self.request, ssl.SSLSocket) else None)
        self.lab.log({
            "time": time.time(), "method": self.command,
            "host": self.headers.get("Host"), "server": self.hostname,
            "port": self.port_no, "path": self.path,
            "authorization": auth.split(" ")[0] if auth else None,
            "tls": tls, "status": status})

    def send(self, status, body=b"", headers=(), close=False):
        """Send a whole response and log it."""
        if isinstance(body, str):
            body = body.encode()
        self.record(status)
        self.send_response(status)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        if close:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def read_body(self):
        """Read the request body (bounded)."""
        n = min(int(self.headers.get("Content-Length", "0") or 0), 1 << 20)
        return self.rfile.read(n) if n > 0 else b""

    def do_GET(self):
        self.read_body()
        self.route()

    def do_POST(self):
        self.read_body()
        self.route()

    def route(self):
        """Answer by the path table of this host and port."""
        table = self.host.get("http_paths" if self.port_no == 80
                              else "paths", {})
        path = self.path.split("?")[0]
        ep = table.get(path) or table.get(path.lower())
        if ep is None:
            self.send(404, "Not Found", [("Content-Type", "text/html")])
            return
        kind = ep["kind"]
        getattr(self, "ep_" + kind)(ep)

    def authenticate(self, offered):
        """Run NTLM as IIS does; return True once the client proved the
        lab password. Sends the 401 itself otherwise."""
        challenge_headers = [("WWW-Authenticate", s) for s in offered]
        auth = self.headers.get("Authorization", "")
        scheme, _, token = auth.partition(" ")
        if scheme in ("NTLM", "Negotiate") and ("NTLM" in offered or
                                                "Negotiate" in offered):
            mtype = ntlm.message_type(token.strip())
            if mtype == 1:
                text, self.ntlm_challenge = ntlm.challenge(
                    "CONTOSO", "CAS01", "contoso.com")
                self.send(401, "", [("WWW-Authenticate", f"{scheme} {text}")])
                return False
            if mtype == 3 and self.ntlm_challenge is not None:
                account = self.lab.scenario["mailbox"]["account"]
                domain, _, user = account.partition("\\")
                ok, _, _ = ntlm.verify(token.strip(), self.ntlm_challenge,
                                       domain, user,
                                       self.lab.scenario["mailbox"]["password"])
                self.ntlm_challenge = None
                if ok:
                    return True
        self.send(401, "", challenge_headers + [
            ("Content-Type", "text/html")])
        return False

    def ep_soap(self, ep):
        """SOAP Autodiscover (GetUserSettings)."""
        if ep.get("auth", "ntlm") == "ntlm" and \
                not self.authenticate(["Negotiate", "NTLM"]):
            return
        body = soap_answer(ep.get("answer", "settings"),
                           self.lab.scenario.get("autodiscover", {}),
                           ep.get("target", ""))
        self.send(200, body, [("Content-Type", "text/xml; charset=utf-8")])

    def ep_pox(self, ep):
        """POX Autodiscover (autodiscover.xml)."""
        if ep.get("auth", "ntlm") == "ntlm" and \
                not self.authenticate(["Negotiate", "NTLM"]):
            return
        body = pox_answer(ep.get("answer", "settings"),
                          self.lab.scenario.get("autodiscover", {}),
                          ep.get("target", ""))
        self.send(200, body, [("Content-Type", "text/xml; charset=utf-8")])

    def ep_ews(self, ep):
        """EWS: 401 with the offered schemes, NTLM, then GetFolder."""
        offered = ep.get("auth", ["Negotiate", "NTLM"])
        if not self.authenticate(offered):
            return
        status, body = ews_answer(ep.get("answer", "success"))
        self.send(status, body, [("Content-Type", "text/xml; charset=utf-8")])

    def ep_redirect(self, ep):
        """A redirect (the HTTP redirect method, or a 302 on POST)."""
        self.send(ep.get("status", 302), "",
                  [("Location", ep["location"])])

    def ep_status(self, ep):
        """A plain status with an optional body."""
        self.send(ep.get("status", 200), ep.get("body", ""),
                  [("Content-Type", ep.get("type", "text/html"))])

    def ep_hostile(self, ep):
        """Misbehaviours a scenario can switch on."""
        b = ep["behaviour"]
        if b == "slow_drip":
            self.record(200)
            self.send_response(200)
            self.send_header("Content-Length", "100000")
            self.end_headers()
            try:
                for _ in range(120):
                    self.wfile.write(b"<")
                    self.wfile.flush()
                    time.sleep(1)
            except OSError:
                pass
            self.close_connection = True
        elif b == "stall":
            self.record(200)
            self.send_response(200)
            self.send_header("Content-Length", "1000")
            self.end_headers()
            self.wfile.flush()
            time.sleep(60)
            self.close_connection = True
        elif b == "oversized":
            self.record(200)
            self.send_response(200)
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            chunk = b"<x>" + b"a" * 65533
            try:
                for _ in range(1024):
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            except OSError:
                pass
            self.close_connection = True
        elif b == "header_flood":
            self.record(200)
            self.send_response(200)
            try:
                for i in range(20000):
                    self.send_header(f"X-Flood-{i}", "f" * 60)
                self.end_headers()
            except OSError:
                pass
            self.close_connection = True
        elif b == "reset":
            self.record(0)
            self.request.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                    struct.pack("ii", 1, 0))
            self.close_connection = True
        elif b == "malformed_xml":
            self.send(200, "<?xml version='1.0'?><Autodiscover><Response>",
                      [("Content-Type", "text/xml")])
        elif b == "html":
            self.send(200, "<!DOCTYPE html><html><body>Welcome to "
                      "Contoso</body></html>", [("Content-Type", "text/html")])
        elif b == "billion_laughs":
            self.send(200, BILLION_LAUGHS, [("Content-Type", "text/xml")])
        else:
            raise ValueError(f"unknown hostile behaviour {b}")
