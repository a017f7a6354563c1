#!/usr/bin/env python3
"""Sample events for the demo, as `key<TAB>value` lines for kcat -K'\\t'.

  demo_events.py catalog       the provider's catalog: every content type,
                               custom tracks of two customers, updates and
                               archives
  demo_events.py completions   learners' completions for several customers,
                               a learner unknown to one LMS, a tested-out one
"""
import json
import sys

TYPES = ["course", "project", "practice", "assessment", "skill_track", "career_track"]
TECH = ["python", "r", "sql"]
TITLES = {
    "course": ["Introduction to Python", "Data Manipulation with pandas", "Joining Data in SQL",
               "Introduction to R", "Machine Learning with scikit-learn"],
    "project": ["Wrangling and Visualizing Musical Data", "Exploring the Bitcoin Market",
                "Analyzing Netflix Data", "Predicting Credit Card Approvals",
                "Investigating Netflix Movies"],
    "practice": ["Python Basics Practice", "SQL Joins Practice", "R Data Frames Practice",
                 "pandas Practice", "ggplot2 Practice"],
    "assessment": ["Python Programming", "SQL Fundamentals", "R Programming",
                   "Data Analysis in Python", "Statistics Fundamentals"],
    "skill_track": ["Python Fundamentals", "SQL Fundamentals", "R Programming",
                    "Data Visualization", "Machine Learning Fundamentals"],
    "career_track": ["Data Scientist with Python", "Data Analyst with SQL", "Data Scientist with R",
                     "Machine Learning Scientist", "Data Engineer"],
}


def catalog_event(n, etype, ctype, cid, title, version, org=None, tech=None):
    content = {
        "id": cid, "type": ctype, "title": title,
        "description": f"{title}: learn by doing, in your browser.",
        "url": f"https://www.datacamp.com/{ctype.replace('_', '-')}s/{cid}",
        "technology": tech, "language": "en-US",
        "duration_hours": None if ctype in ("practice", "assessment") else 4,
        "num_questions": 15 if ctype == "assessment" else None,
        "organization_id": org,
    }
    return {"schema": "catalog.v1", "event_id": f"cat-{n}", "event_type": etype,
            "occurred_at": "2026-11-20T10:00:00Z", "version": version, "content": content}


PER_TYPE = 30  # items of every content type


def catalog():
    out, n = [], 0
    for ctype in TYPES:
        for i in range(PER_TYPE):
            n += 1
            cid = str(100 + n)
            base = TITLES[ctype][i % len(TITLES[ctype])]
            title = base if i < len(TITLES[ctype]) else f"{base} ({TECH[i % 3].upper()} {i // 5})"
            out.append((f"{ctype}-{cid}", catalog_event(n, "content.upserted", ctype, cid, title, 1,
                                                        tech=TECH[i % 3])))
    for org, names in (("acme", ["Acme Analytics Onboarding", "Acme SQL Bootcamp"]),
                       ("globex", ["Globex Finance Analytics"])):
        for title in names:
            n += 1
            cid = f"ct-{n}"
            out.append((f"custom_track-{cid}", catalog_event(n, "content.upserted", "custom_track",
                                                             cid, title, 1, org=org)))
    # updates (version 2) and archives
    for etype, cid, ctype, title in (
            ("content.upserted", "101", "course", "Introduction to Python (2026 edition)"),
            ("content.upserted", "132", "project", "Exploring the Bitcoin Market (2026)"),
            ("content.upserted", "192", "assessment", "SQL Fundamentals (new questions)"),
            ("content.archived", "140", "project", "Investigating Netflix Movies"),
            ("content.archived", "105", "course", "Machine Learning with scikit-learn"),
            ("content.archived", "250", "skill_track", "Machine Learning Fundamentals")):
        n += 1
        out.append((f"{ctype}-{cid}", catalog_event(n, etype, ctype, cid, title, 2, tech="python")))
    # and one that upstream got wrong
    out.append(("course-999", {"schema": "catalog.v1", "event_id": "cat-bad",
                               "event_type": "content.upserted",
                               "occurred_at": "2026-11-20T10:00:00Z", "version": 1,
                               "content": {"id": "999", "type": "course", "title": "Broken",
                                           "description": "", "url": "http://insecure.example"}}))
    return out


def completion(n, org, user, email, nameid, ctype, cid, **extra):
    e = {"schema": "completion.v1", "event_id": f"comp-{n}", "occurred_at": "2026-11-20T12:00:00Z",
         "organization_id": org,
         "user": {"id": user, "email": email, "sso_nameid": nameid, "lms_username": None},
         "content": {"id": cid, "type": ctype}, "completed_at": "2026-11-20T11:58:00Z"}
    e.update(extra)
    return e


def completions():
    out = []
    learners = {
        "acme": [("a1", "ann@acme.example", None), ("a2", "bob@acme.example", None),
                 ("a3", "zoe@acme.example", None)],  # zoe is unknown to Acme's Degreed
        "globex": [("g1", "gina@globex.example", "GINA01"), ("g2", "gus@globex.example", "GUS02")],
    }
    n = 0
    for org, people in learners.items():
        for user, email, nameid in people:
            for ctype, cid in (("course", "101"), ("project", "131"), ("assessment", "191")):
                n += 1
                extra = {}
                if ctype == "assessment":
                    extra = {"score": 82, "skills": [{"name": "Python", "score": 82, "level": 5}]}
                out.append((user, completion(n, org, user, email, nameid, ctype, cid, **extra)))
    n += 1
    out.append(("a1", completion(n, "acme", "a1", "ann@acme.example", None, "course", "102",
                                 skipped=True)))
    n += 1
    out.append(("a2", completion(n, "acme", "a2", "bob@acme.example", None, "skill_track", "221")))
    return out


if __name__ == "__main__":
    events = catalog() if sys.argv[1:] == ["catalog"] else completions()
    for key, value in events:
        print(f"{key}\t{json.dumps(value, separators=(',', ':'))}")
