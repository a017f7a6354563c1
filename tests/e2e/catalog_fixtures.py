"""Fixtures for the catalog-worker's end-to-end tests: catalog events,
SuccessFactors tenants and integrations, and direct calls to the Degreed
sandbox API (to set up what a customer's LMS already holds)."""
import json
import urllib.error
import urllib.parse
import urllib.request

from harness import degreed_integration, http

PROVIDER = "DATACAMP"


def catalog_event(ctype, cid, version, etype="content.upserted", org=None, title=None,
                  event_id=None):
    """(key, value) of a catalog event; the title carries the version so the
    LMS state shows which version it holds."""
    content = {"id": cid, "type": ctype, "title": title or f"{ctype} {cid} v{version}",
               "description": f"About {ctype} {cid}.",
               "url": f"https://www.datacamp.com/{ctype}s/{cid}", "language": "en-US",
               "technology": "python"}
    if ctype == "assessment":
        content["num_questions"] = 15
    elif ctype != "practice":
        content["duration_hours"] = 4
    if org:
        content["organization_id"] = org
    e = {"schema": "catalog.v1", "event_id": event_id or f"{ctype}-{cid}-v{version}-{etype}",
         "event_type": etype, "occurred_at": "2026-11-20T10:00:00Z", "version": version,
         "content": content}
    return f"{ctype}-{cid}", json.dumps(e, separators=(",", ":"))


def sf_tenant(name, secret, company, **sf):
    t = {"name": name, "sf": {"company_id": company, "client_id": f"{name}-sf",
                              "client_secret": secret, "admin_users": ["ocn_admin"],
                              "min_post_interval_s": 0}}
    t["sf"].update(sf)
    return t


def sf_integration(env, id, tenant, org, company, secret_env, extra=""):
    return (f'{{ id = "{id}"; type = "successfactors"; organization = "{org}";'
            f' base_url = "{env.lms_url}/t/{tenant}"; company_id = "{company}";'
            f' admin_user = "ocn_admin"; client_id = "{tenant}-sf";'
            f' client_secret = "@env:{secret_env}"; {extra} }}')


def degreed(env, id, tenant, org, secret_env, extra=""):
    """A Degreed integration for organization `org` ("*": the provider's),
    without a client-side rate limit."""
    return degreed_integration(env, id, tenant, secret_env, "rate_limit_per_minute = 0; " + extra,
                               org=org)


def degreed_api(env, tenant, secret, method, path, body=None):
    """Calls the sandbox's Degreed API as the tenant's client would."""
    form = urllib.parse.urlencode({"grant_type": "client_credentials",
                                   "client_id": f"{tenant}-id", "client_secret": secret})
    req = urllib.request.Request(f"{env.lms_url}/t/{tenant}/oauth/token", data=form.encode(),
                                 headers={"Content-Type": "application/x-www-form-urlencoded"})
    with urllib.request.urlopen(req, timeout=30) as r:
        token = json.loads(r.read())["access_token"]
    req = urllib.request.Request(f"{env.lms_url}/t/{tenant}{path}", method=method,
                                 data=json.dumps(body).encode() if body is not None else None,
                                 headers={"Authorization": f"Bearer {token}",
                                          "Content-Type": "application/json",
                                          "Accept": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            text = r.read().decode()
            return r.status, json.loads(text) if text else None
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def degreed_items(state, kind="courses"):
    """{external-id: attributes} of what a Degreed tenant holds."""
    return {c["attributes"]["external-id"]: c["attributes"] for c in state["degreed"][kind]}


def ocn_courses(state):
    """{courseID: stored entry} of what a SuccessFactors tenant holds."""
    return {c["courseID"]: c for c in state["sf"]["ocn_courses"]}


def ocn_posts(env, tenant):
    """The OcnCourses POSTs the tenant received, in order."""
    return [r for r in env.lms_requests(tenant)
            if r["method"] == "POST" and r["path"].endswith("/OcnCourses")]


__all__ = ["catalog_event", "sf_tenant", "sf_integration", "degreed", "degreed_api",
           "degreed_items", "ocn_courses", "ocn_posts", "PROVIDER", "http"]


def sf_post_courses(env, tenant, secret, company, course_ids):
    """Imports courses into a SuccessFactors tenant as the provider's
    catalog would have (so completions of them are accepted)."""
    import base64
    basic = base64.b64encode(f"{tenant}-sf:{secret}".encode()).decode()
    body = {"grant_type": "client_credentials",
            "scope": {"userId": "ocn_admin", "companyId": company, "userType": "admin",
                      "resourceType": "learning_public_api"}}
    req = urllib.request.Request(f"{env.lms_url}/t/{tenant}/learning/oauth-api/rest/v1/token",
                                 data=json.dumps(body).encode(),
                                 headers={"Authorization": f"Basic {basic}",
                                          "Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=30) as r:
        token = json.loads(r.read())["access_token"]
    courses = [{"courseID": c, "providerID": PROVIDER, "status": "ACTIVE",
                "title": [{"locale": "English", "value": c}]} for c in course_ids]
    req = urllib.request.Request(
        f"{env.lms_url}/t/{tenant}/learning/odatav4/public/admin/ocn/v1/OcnCourses",
        data=json.dumps({"ocnCourses": courses}).encode(),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=30) as r:
        return r.status
