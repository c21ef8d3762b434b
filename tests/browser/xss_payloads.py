"""A corpus of cross-site scripting payloads, each marking the page if it ever runs.

Every payload is a template: ``$JS`` becomes a statement that sets
``window.__xss`` to the payload's number (quote-free, so it survives inside
attributes), ``$URL`` becomes an address on the test's flag server that
records the payload's number when anything (a script, an ``<img>``, a
stylesheet, a refresh) requests it, ``$B64`` is ``<script>$JS</script>`` in
base64 (for ``data:`` URLs) and ``$N`` is the number itself.  A
browser test puts the payloads in article titles, bylines, text, URLs and
site names and checks that none of them ever sets the flag, changes the
title or reaches the flag server.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass

__all__ = ["FLAG", "PAYLOADS", "PWNED", "Payload", "payloads"]

FLAG = "__xss"
PWNED = "PWNED"

# (category, template).  Written for this test; the ideas come from the usual
# filter-evasion families: each line is one way a page, a parser or an
# escaping bug has let script run somewhere.
_TEMPLATES: list[tuple[str, str]] = [
    # -- script elements --------------------------------------------------------
    ("script", "<script>$JS</script>"),
    ("script", "<script>document.title='PWNED';$JS</script>"),
    ("script", "<script src=$URL></script>"),
    ("script", "<script type=module>$JS</script>"),
    ("script", "<script>fetch('$URL')</script>"),
    ("script", "<script\n>$JS</script\n>"),
    ("script", "<script/x>$JS</script>"),
    ("script", "<script>/*</script>*/$JS</script>"),
    # -- event handlers ---------------------------------------------------------
    ("handler", "<img src=x onerror=$JS>"),
    ("handler", '<img src="x" onerror="document.title=`PWNED`;$JS">'),
    ("handler", "<img/src=x/onerror=$JS>"),
    ("handler", "<body onload=$JS>"),
    ("handler", "<input autofocus onfocus=$JS>"),
    ("handler", "<details open ontoggle=$JS>"),
    ("handler", "<video><source onerror=$JS></video>"),
    ("handler", "<audio src=x onerror=$JS>"),
    ("handler", "<iframe onload=$JS></iframe>"),
    ("handler", "<marquee onstart=$JS>x</marquee>"),
    ("handler", "<select autofocus onfocus=$JS></select>"),
    ("handler", "<textarea autofocus onfocus=$JS></textarea>"),
    ("handler", "<div onmouseover=$JS style=position:fixed;inset:0>x</div>"),
    ("handler", "<object data=x onerror=$JS></object>"),
    ("handler", "<body onpageshow=$JS>"),
    ("handler", "<x contenteditable autofocus onfocus=$JS>x</x>"),
    ("handler", "<input type=image src=x onerror=$JS>"),
    ("handler", '<img srcset=",,,,x onerror=$JS">'),
    ("handler", "<style onload=$JS></style>"),
    ("handler", "<frameset onload=$JS>"),
    # -- script URLs ----------------------------------------------------------------
    ("url", "javascript:$JS"),
    ("url", "JaVaScRiPt:$JS"),
    ("url", " \tjavascript:$JS"),
    ("url", "java\tscript:$JS"),
    ("url", "java\nscript:$JS"),
    ("url", "java\x00script:$JS"),
    ("url", "javascript://%0a$JS"),
    ("url", "javascript&colon;$JS"),
    ("url", "&#106;avascript:$JS"),
    ("url", "&#x6A;&#x61;vascript&#58;$JS"),
    ("url", "data:text/html,<script>$JS</script>"),
    ("url", "data:text/html;base64,$B64"),
    ("url", "data:image/svg+xml,<svg onload=$JS>"),
    ("url", "vbscript:$JS"),
    ("url", 'VBScript:Execute("$JS")'),
    ("url", "\x01javascript:$JS"),
    ("url", '<a href="javascript:$JS">click</a>'),
    ("url", "<a href=jav&#x09;ascript:$JS>tab</a>"),
    ("url", "<iframe src=javascript:$JS></iframe>"),
    ("url", '<meta http-equiv="refresh" content="0;url=javascript:$JS">'),
    ("url", '<form action="javascript:$JS"><button>go</button></form>'),
    ("url", "<button formaction=javascript:$JS>go</button>"),
    ("url", "<object data=javascript:$JS></object>"),
    ("url", "<embed src=javascript:$JS>"),
    # -- SVG --------------------------------------------------------------------------
    ("svg", "<svg onload=$JS>"),
    ("svg", "<svg/onload=$JS>"),
    ("svg", "<svg><script>$JS</script></svg>"),
    ("svg", '<svg><script href="$URL"/></svg>'),
    ("svg", '<svg><use href="data:image/svg+xml,<svg id=x onload=$JS/>#x"/></svg>'),
    ("svg", "<svg><use href=$URL#x /></svg>"),
    ("svg", "<svg><animate onbegin=$JS attributeName=x dur=1s>"),
    ("svg", '<svg><a xlink:href="javascript:$JS"><text y=20>x</text></a></svg>'),
    ("svg", "<svg><set attributeName=onload to=$JS />"),
    ("svg", "<svg><image href=$URL /></svg>"),
    ("svg", "<svg><foreignObject><iframe srcdoc=<script>$JS</script>>"),
    # -- MathML ----------------------------------------------------------------------
    ("mathml", "<math><mtext><table><mglyph><style><img src=x onerror=$JS>"),
    ("mathml", '<math href="javascript:$JS">x</math>'),
    ("mathml", "<math><maction actiontype=statusline xlink:href=javascript:$JS>x</maction>"),
    ("mathml", "<math><mi><mglyph><svg><mtext><textarea><path id=</textarea><img onerror=$JS>"),
    ("mathml", "<math><annotation-xml encoding=text/html><img src=x onerror=$JS>"),
    # -- CSS --------------------------------------------------------------------------
    ("css", '<div style="width:expression($JS)">x</div>'),
    ("css", '<div style="background:url(javascript:$JS)">x</div>'),
    ("css", "<style>@import '$URL';</style>"),
    ("css", "<style>@import url($URL);</style>"),
    ("css", "<style>body{background:url($URL)}</style>"),
    ("css", "<style>*{x:expression($JS)}</style>"),
    ("css", "</style><script>$JS</script>"),
    ("css", "<link rel=stylesheet href=$URL>"),
    ("css", '<p style="behavior:url($URL)">x</p>'),
    ("css", "<style>li{list-style:url(javascript:$JS)}</style>"),
    ("css", "<div style=\"background-image:url('$URL')\">x</div>"),
    # -- breaking out of the surrounding markup --------------------------------------
    ("breakout", '"><script>$JS</script>'),
    ("breakout", "'><script>$JS</script>"),
    ("breakout", '" onmouseover="$JS'),
    ("breakout", "' autofocus onfocus='$JS"),
    ("breakout", '"autofocus/onfocus="$JS'),
    ("breakout", "</title><script>$JS</script>"),
    ("breakout", "</textarea><script>$JS</script>"),
    ("breakout", "</script><script>$JS</script>"),
    ("breakout", "</noscript><img src=x onerror=$JS>"),
    ("breakout", "</option></select><img src=x onerror=$JS>"),
    ("breakout", "</iframe><script>$JS</script>"),
    ("breakout", "</xmp><script>$JS</script>"),
    ("breakout", "</p></section></article><script>$JS</script>"),
    ("breakout", "</a><a href=javascript:$JS>x</a>"),
    # -- comments and CDATA -------------------------------------------------------
    ("comment", '<!--<img src="--><img src=x onerror=$JS//">'),
    ("comment", "<![CDATA[<script>$JS</script>]]>"),
    ("comment", "--><script>$JS</script>"),
    ("comment", "]]><script>$JS</script>"),
    ("comment", "<!-- --!><script>$JS</script>"),
    ("comment", '<? x="><script>$JS</script>">'),
    ("comment", "<!--[if gte IE 4]><script>$JS</script><![endif]-->"),
    # -- encodings ----------------------------------------------------------------------
    ("encoded", "&lt;script&gt;$JS&lt;/script&gt;"),
    ("encoded", "&amp;lt;script&amp;gt;$JS&amp;lt;/script&amp;gt;"),
    ("encoded", "&#60;script&#62;$JS&#60;/script&#62;"),
    ("encoded", "&#x3C;img src=x onerror=$JS&#x3E;"),
    ("encoded", "%3Cscript%3E$JS%3C/script%3E"),
    ("encoded", "%253Cscript%253E$JS%253C/script%253E"),
    ("encoded", "\\u003cscript\\u003e$JS\\u003c/script\\u003e"),
    ("encoded", "\\x3cscript\\x3e$JS\\x3c/script\\x3e"),
    ("encoded", "+ADw-script+AD4-$JS+ADw-/script+AD4-"),
    ("encoded", "\uff1cscript\uff1e$JS\uff1c/script\uff1e"),
    ("encoded", "<scr\x00ipt>$JS</scr\x00ipt>"),
    ("encoded", "\u003cimg src=x onerror=$JS\u003e"),
    # -- broken and disguised markup ----------------------------------------------------
    ("broken", "<img src=x onerror=$JS"),
    ("broken", "<svg onload=$JS"),
    ("broken", "<scr<script>ipt>$JS</scr</script>ipt>"),
    ("broken", "<ScRiPt>$JS</sCrIpT>"),
    ("broken", "<img\tsrc=x\tonerror=$JS>"),
    ("broken", "<img\nsrc=x\nonerror=$JS>"),
    ("broken", "<<script>$JS//<</script>"),
    ("broken", "<iframe src=javascript:$JS"),
    ("broken", "<a href='javascript:$JS'"),
    ("broken", "<img src=`x` onerror=$JS>"),
    ("broken", "<script>$JS<!--"),
    # -- template syntax (Jinja2, other engines, client-side frameworks) ---------------
    ("template", "{{ 7*7 }} xss$N {{ self.__init__.__globals__ }}"),
    ("template", "{% for x in range(3) %}loop{% endfor %} xss$N"),
    ("template", "{{ cycler.__init__.__globals__.os.popen('id').read() }} xss$N"),
    ("template", "{{constructor.constructor('$JS')()}}"),
    ("template", "${7*7} #{7*7} <%= 7*7 %> xss$N"),
    ("template", "{{ '<script>$JS</script>' | safe }}"),
    ("template", "{% raw %}</p><script>$JS</script>{% endraw %}"),
    # -- breaking out of JSON inside a script ------------------------------------------
    ("json", '"};$JS;//'),
    ("json", "'};$JS;//"),
    ("json", "</script><script>$JS</script><script>"),
    ("json", '{"a":"</script><img src=x onerror=$JS>"}'),
    ("json", "\u2028$JS\u2029"),
    ("json", '"-$JS-"'),
    # -- other elements that load or navigate -----------------------------------------
    ("misc", '<iframe srcdoc="<script>$JS</script>"></iframe>'),
    ("misc", "<base href=$URL>"),
    ("misc", '<meta http-equiv="refresh" content="0;url=$URL">'),
    ("misc", "<img src=$URL>"),
    ("misc", "<video poster=$URL></video>"),
    ("misc", "<template><script>$JS</script></template>"),
    ("misc", '<noscript><p title="</noscript><img src=x onerror=$JS>">'),
    ("misc", "<table background=$URL><tr><td>x</td></tr></table>"),
    ("misc", "<isindex type=image src=x onerror=$JS>"),
    ("misc", "<portal src=$URL></portal>"),
]


@dataclass(slots=True, frozen=True)
class Payload:
    """One payload, numbered; ``text`` is what is planted in a page."""

    n: int
    category: str
    text: str

    @property
    def marker(self) -> str:
        """A word placed next to the payload, to find where it ended up."""
        return f"xss{self.n}mark"

    @property
    def is_url(self) -> bool:
        """Made to be a link's address (the rest are put into URLs' paths)."""
        return self.category == "url" and not self.text.lstrip().startswith("<")


def payloads(flag_base: str) -> list[Payload]:
    """The corpus with ``$URL`` pointing at ``flag_base`` (``http://127.0.0.1:PORT``)."""
    out = []
    for n, (category, template) in enumerate(_TEMPLATES, start=1):
        script = f"<script>window.{FLAG}={n}</script>"
        text = (
            template.replace("$B64", base64.b64encode(script.encode()).decode())
            .replace("$JS", f"window.{FLAG}={n}")
            .replace("$URL", f"{flag_base}/hit/{n}")
            .replace("$N", str(n))
        )
        out.append(Payload(n, category, text))
    return out


# The corpus with a placeholder flag server: for counting and tests of the corpus.
PAYLOADS = payloads("http://127.0.0.1:9")
