#!/usr/bin/env python3
"""The repository documents itself: every relative link of every *.md file
resolves to a file or directory inside the repository (and its #anchor to
a heading of the target, for links to Markdown files), and no file names a
document that lives outside the repository (the project's design notes,
style guide or shared reference notes). Skipped: .git and build*
directories. The checker first proves itself on a fixture (a broken path and
a bad anchor must be reported), and the repository's links must number at
least MIN_LINKS, so a pattern that stopped matching cannot pass unseen.
Needs no build."""
import os
import re
import tempfile
import urllib.parse

from deploy_lib import SOURCE, check, finish, rel

# Assembled here so that this file does not contain them itself.
FORBIDDEN = ["DESIGN" + ".md", "STYLE" + ".md", "shared" + "/reference", ".." + "/shared"]


def skipped_dir(name):
    return name == ".git" or name.startswith("build")


def repo_files():
    for root, dirs, files in os.walk(SOURCE):
        dirs[:] = sorted(d for d in dirs if not skipped_dir(d))
        for f in sorted(files):
            yield os.path.join(root, f)


# ---- Markdown: links and headings ----

FENCE = re.compile(r"^\s{0,3}(```+|~~~+)")
INLINE_CODE = re.compile(r"(`+)(?:(?!\1).)+?\1")
# [text](target) and ![alt](target); the text may hold one level of brackets
INLINE_LINK = re.compile(r"!?\[(?:[^\[\]]|\[[^\[\]]*\])*\]\(\s*(<[^>]*>|[^)\s]+)(?:\s+\"[^\"]*\")?\s*\)")
REF_DEF = re.compile(r"^\s{0,3}\[[^\]]+\]:\s*(<[^>]*>|\S+)")
HTML_ID = re.compile(r"<a\s+(?:name|id)=\"([^\"]+)\"", re.I)


def prose_lines(text):
    """(line number, line) outside fenced code blocks."""
    fence = None
    for n, line in enumerate(text.splitlines(), 1):
        m = FENCE.match(line)
        if m:
            mark = m.group(1)[0]
            if fence is None:
                fence = mark
            elif fence == mark:
                fence = None
            continue
        if fence is None:
            yield n, line


def slug(heading):
    """GitHub's anchor of a heading: the rendered text lower-cased, without
    punctuation, spaces turned into hyphens."""
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # links: their text
    text = text.replace("`", "").replace("*", "").strip().lower()
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def anchors(text):
    out, seen = set(), {}
    prev = ""
    for _, line in prose_lines(text):
        heading = None
        m = re.match(r"^\s{0,3}#{1,6}\s+(.*?)\s*#*\s*$", line)
        if m:
            heading = m.group(1)
        elif (re.fullmatch(r"\s{0,3}(=+|-{3,})\s*", line) and prev.strip()
              and not prev.lstrip().startswith(("|", "-", "*", ">"))):
            heading = prev.strip()
        if heading is not None:
            s = slug(heading)
            n = seen.get(s, 0)
            seen[s] = n + 1
            out.add(s if n == 0 else f"{s}-{n}")
        out.update(HTML_ID.findall(line))
        prev = line
    return out


def links(text):
    for n, line in prose_lines(text):
        stripped = INLINE_CODE.sub("", line)
        for m in INLINE_LINK.finditer(stripped):
            yield n, m.group(1).strip("<>")
        m = REF_DEF.match(stripped)
        if m:
            yield n, m.group(1).strip("<>")


_anchor_cache = {}


def anchors_of(path):
    if path not in _anchor_cache:
        with open(path, encoding="utf-8") as f:
            _anchor_cache[path] = anchors(f.read())
    return _anchor_cache[path]


def external(target):
    return re.match(r"^[A-Za-z][A-Za-z0-9+.-]*:", target)  # https:, mailto: ...


def check_link(md, target, root=SOURCE):
    """None when the link resolves inside `root`, else why not."""
    if external(target):
        return None
    path, _, anchor = target.partition("#")
    path = urllib.parse.unquote(path)
    if path.startswith("/"):
        return "an absolute path (links must be relative to the file)"
    dest = os.path.normpath(os.path.join(os.path.dirname(md), path)) if path else md
    if os.path.relpath(dest, root).startswith(".."):
        return "points outside the repository"
    if not os.path.exists(dest):
        return "no such file or directory"
    if path.endswith("/") and not os.path.isdir(dest):
        return "not a directory"
    if anchor and dest.endswith(".md") and os.path.isfile(dest):
        if urllib.parse.unquote(anchor).lower() not in anchors_of(dest):
            return f"no heading with the anchor #{anchor} in {rel(dest)}"
    return None


def file_links(md, root=SOURCE):
    """The relative links of `md` ((line, target)) and those that do not
    resolve ((line, target, why))."""
    with open(md, encoding="utf-8") as f:
        found = [(n, t) for n, t in links(f.read()) if not external(t)]
    return found, [(n, t, why) for n, t in found if (why := check_link(md, t, root))]


# ---- self-check: the checker finds what it must find ----

FIXTURE = {
    "a.md": """# Fixture

[good](b.md#real-heading), [a directory](sub/) and ![an image](sub/x.png).
A [broken path](missing.md) here.

```
[in a code block](not-checked.md)
```
Inline code `[not a link](not-checked.md)`, and a [bad anchor](b.md#no-such-heading).
""",
    "b.md": "# Real heading\n\ntext\n",
    "sub/x.png": "",
}
with tempfile.TemporaryDirectory(prefix="lb-doc-links-") as tmp:
    for name, text in FIXTURE.items():
        os.makedirs(os.path.dirname(os.path.join(tmp, name)), exist_ok=True)
        with open(os.path.join(tmp, name), "w", encoding="utf-8") as f:
            f.write(text)
    found, bad = file_links(os.path.join(tmp, "a.md"), tmp)
    got = [(n, t, why.split(" in ")[0]) for n, t, why in bad]
    check(len(found) == 5 and got == [
        (4, "missing.md", "no such file or directory"),
        (9, "b.md#no-such-heading", "no heading with the anchor #no-such-heading")],
        f"self-check: of a fixture's 5 links (2 in code left out) the broken path and the bad "
        f"anchor are reported, the good ones not ({len(found)} found, {got})")

# ---- every relative link of the repository resolves ----

# the repository has well over this many: far fewer means links go unseen
MIN_LINKS = 120
mds = [p for p in repo_files() if p.endswith(".md")]
check(len(mds) >= 10, f"{len(mds)} Markdown files in the repository")
nlinks = nbad = 0
for md in mds:
    found, bad = file_links(md)
    nlinks += len(found)
    nbad += len(bad)
    for n, t, why in bad:
        check(False, f"{rel(md)}:{n}: link ({t}): {why}")
check(nlinks >= MIN_LINKS and nbad == 0,
      f"{nlinks} relative links checked (at least {MIN_LINKS}), {nbad} do not resolve")

# ---- nothing refers to documents outside the repository ----

files = list(repo_files())
offenders = 0
for path in files:
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as e:
        check(False, f"{rel(path)}: cannot read: {e}")
        continue
    for word in FORBIDDEN:
        if word.encode() not in data:
            continue
        offenders += 1
        for n, line in enumerate(data.decode("utf-8", "replace").splitlines(), 1):
            if word in line:
                check(False, f"{rel(path)}:{n}: names {word}, a document outside the repository: "
                      f"{line.strip()[:120]}")
check(offenders == 0, f"{len(files)} files: none names a document outside the repository "
      f"({', '.join(FORBIDDEN)})")

# docs/ exists and is indexed from the front page
docs_index = os.path.join(SOURCE, "docs", "README.md")
check(os.path.isfile(docs_index), "docs/README.md exists")
with open(os.path.join(SOURCE, "README.md"), encoding="utf-8") as f:
    check("docs/README.md" in f.read(), "README.md links to docs/README.md")
finish()
