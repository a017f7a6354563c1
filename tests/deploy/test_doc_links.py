#!/usr/bin/env python3
"""The repository documents itself: every relative link of every *.md file
resolves to a file or directory inside the repository (and its #anchor to
a heading of the target, for links to Markdown files), and no file names a
document that lives outside the repository (the project's design notes,
style guide or shared reference notes). Skipped: .git and build*
directories. Needs no build."""
import os
import re
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


def check_link(md, target):
    """None when the link resolves, else why not."""
    if re.match(r"^[A-Za-z][A-Za-z0-9+.-]*:", target):  # https:, mailto: ...
        return None
    path, _, anchor = target.partition("#")
    path = urllib.parse.unquote(path)
    if path.startswith("/"):
        return "an absolute path (links must be relative to the file)"
    dest = os.path.normpath(os.path.join(os.path.dirname(md), path)) if path else md
    if os.path.relpath(dest, SOURCE).startswith(".."):
        return "points outside the repository"
    if not os.path.exists(dest):
        return "no such file or directory"
    if path.endswith("/") and not os.path.isdir(dest):
        return "not a directory"
    if anchor and dest.endswith(".md") and os.path.isfile(dest):
        if urllib.parse.unquote(anchor).lower() not in anchors_of(dest):
            return f"no heading with the anchor #{anchor} in {rel(dest)}"
    return None


mds = [p for p in repo_files() if p.endswith(".md")]
check(len(mds) >= 10, f"{len(mds)} Markdown files in the repository")
for md in mds:
    with open(md, encoding="utf-8") as f:
        text = f.read()
    found = list(links(text))
    bad = [(n, t, why) for n, t in found if (why := check_link(md, t))]
    for n, t, why in bad:
        check(False, f"{rel(md)}:{n}: link ({t}): {why}")
    if not bad:
        check(True, f"{rel(md)}: {len(found)} links resolve")

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
