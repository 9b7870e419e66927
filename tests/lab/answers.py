"""Exchange's answers, as text: SOAP Autodiscover GetUserSettings
(docs/protocol.md §1.3), POX autodiscover.xml (§2.2), EWS GetFolder and its
fault (§8), and the hostile XML bodies of docs/security.md §7 (billion laughs,
quadratic blowup, XXE, external DTD, deep nesting, foreign namespace).

Owns: the shapes only, as pure functions of the scenario's values; which
answer an endpoint gives is exchange.py's business.
"""
import urllib.parse

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
NS_EVIL = "http://evil.test/x"

SOAP_ANSWERS = ("settings", "redirect_address", "redirect_url",
                "invalid_user", "server_busy", "top_error", "fault")
POX_ANSWERS = ("settings", "redirect_addr", "redirect_url", "error600",
               "error500", "wrong_namespace")
EWS_ANSWERS = ("success", "fault")


def soap_user_response(error_code, body):
    """A GetUserSettings answer, one UserResponse (docs/protocol.md §1.3)."""
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
    """The POX Autodiscover body for an answer kind (docs/protocol.md §2)."""
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
    if kind in ("settings", "wrong_namespace"):
        account = ""
        for ptype, key in (("EXCH", "internal_ews_url"),
                           ("EXPR", "external_ews_url")):
            if ad.get(key):
                server = urllib.parse.urlsplit(ad[key]).hostname
                account += f"""      <Protocol>
        <Type>{ptype}</Type>
        <Server>{server}</Server>
        <ASUrl>{ad[key]}</ASUrl>
        <EwsUrl>{ad[key]}</EwsUrl>
      </Protocol>
"""
        action = "settings"
    else:
        element = "RedirectAddr" if kind == "redirect_addr" else "RedirectUrl"
        action = "redirectAddr" if kind == "redirect_addr" else "redirectUrl"
        account = f"      <{element}>{target}</{element}>\n"
    outer, inner = ((NS_EVIL, NS_EVIL) if kind == "wrong_namespace"
                    else (NS_POX, NS_POXA))
    return f"""<?xml version="1.0" encoding="utf-8"?>
<Autodiscover xmlns="{outer}">
  <Response xmlns="{inner}">
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
    """The EWS GetFolder answer (docs/protocol.md §8): success or a fault."""
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


def hostile_body(behaviour, target):
    """An XML body built to hurt a parser (docs/security.md §7 rows 4-9)."""
    if behaviour == "billion_laughs":
        return BILLION_LAUGHS
    if behaviour == "quadratic":
        return (f'<?xml version="1.0"?>\n<!DOCTYPE Autodiscover '
                f'[<!ENTITY a "{"x" * 30000}">]>\n<Autodiscover '
                f'xmlns="{NS_POX}">{"&a;" * 2000}</Autodiscover>\n')
    if behaviour == "xxe":
        return (f'<?xml version="1.0"?>\n<!DOCTYPE Autodiscover [<!ENTITY '
                f'xxe SYSTEM "{target}">]>\n<Autodiscover xmlns="{NS_POX}">'
                f'<Response><Error><ErrorCode>&xxe;</ErrorCode></Error>'
                f'</Response></Autodiscover>\n')
    if behaviour == "external_dtd":
        return (f'<?xml version="1.0"?>\n<!DOCTYPE Autodiscover SYSTEM '
                f'"{target}">\n<Autodiscover xmlns="{NS_POX}"/>\n')
    if behaviour == "deep_nesting":
        return ('<?xml version="1.0"?>\n' + "<a>" * 100000 + "</a>" * 100000
                + "\n")
    if behaviour == "long_names":
        name = "n" * 60000
        return f'<?xml version="1.0"?>\n<{name}></{name}>\n'
    if behaviour == "many_attributes":
        # ~105,000 attributes on one element, just under the 1 MiB cap:
        # libxml2 2.9's duplicate checks make this 30 s of CPU (issue 12).
        attrs, size, i = [], 200, 0
        while size + len(f' a{i}=""') < (1 << 20) - 16:
            attrs.append(f' a{i}=""')
            size += len(attrs[-1])
            i += 1
        return (f'<?xml version="1.0"?>\n<Autodiscover xmlns="{NS_POX}"'
                + "".join(attrs) + "/>\n")
    if behaviour == "many_namespaces":
        # 40,000 namespace declarations on one element (1.6 s in libxml2).
        decls = "".join(f' xmlns:p{i}="u"' for i in range(40000))
        return (f'<?xml version="1.0"?>\n<Autodiscover xmlns="{NS_POX}"'
                + decls + "/>\n")
    if behaviour == "malformed_xml":
        return "<?xml version='1.0'?><Autodiscover><Response>"
    raise ValueError(f"unknown hostile body {behaviour}")
