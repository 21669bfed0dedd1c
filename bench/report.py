#!/usr/bin/env python3
"""report.py - turns one bench run's measurements (RESULTS/*.json) into a
table with ratios against the peer, RESULTS/latest.json and
RESULTS/latest.md. Usage: report.py RESULTS SECONDS CONNECTIONS AGENTS"""
import json
import os
import platform
import subprocess
import sys

R, SECS, CONNS, AGENTS = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
ROUNDS = sys.argv[5] if len(sys.argv) > 5 else "1"
RSECS = sys.argv[6] if len(sys.argv) > 6 else SECS

# (key, what, peer, goal for Steward / peer on the main figure)
MEASURES = [
    ("p1_policy", "P1 policy poll, keep-alive, ETag (304)", "nginx", 1.0),
    ("p1_get", "P1 policy fetch, keep-alive, full body (200)", "nginx", 1.0),
    ("p2_handshake", "P2 full mutual-TLS handshakes", "nginx", 0.9),
    ("p2_resume", "P2 resumed handshakes (TLS 1.3 tickets)", "nginx", 0.9),
]


def load(name):
    try:
        with open(os.path.join(R, name)) as f:
            text = f.read().strip()
    except OSError:
        return None
    for candidate in (text, text.splitlines()[-1] if text else ""):
        try:
            return json.loads(candidate)
        except ValueError:
            pass
    return None


def text(cmd):
    try:
        return subprocess.run(cmd, capture_output=True, text=True, check=False,
                              shell=True).stdout.strip()
    except OSError:
        return ""


def machine():
    model = ""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return {
        "cpu": model,
        "cores": os.cpu_count(),
        "kernel": platform.release(),
        "os": text("sed -n 's/^PRETTY_NAME=//p' /etc/os-release | tr -d '\"'"),
        "openssl": text("openssl version"),
        "libevent": text("pkg-config --modversion libevent"),
        "steward": text("git describe --always --dirty 2>/dev/null"),
        "nginx": text("cat %s/nginx.version 2>/dev/null" % R),
        "puppetserver": text("cat %s/puppet.version 2>/dev/null" % R),
        "cfengine": text("cat %s/cfengine.version 2>/dev/null" % R),
    }


def main():
    out = {"machine": machine(), "seconds": int(SECS), "connections": int(CONNS),
           "agents": int(AGENTS), "measures": {}}
    rows = []
    for key, what, peer, goal in MEASURES:
        s = load(key + ".steward.json")
        p = load(key + "." + peer + ".json")
        m = {"what": what, "steward": s, peer: p, "goal": goal}
        ratio = None
        if s and p and p.get("rps"):
            ratio = s["rps"] / p["rps"]
        m["ratio"] = ratio
        out["measures"][key] = m
        rows.append((what, s, p, peer, ratio, goal))
    si, ni = load("p3_idle.steward.json"), load("p3_idle.nginx.json")
    p3 = {"steward": si, "nginx": ni, "goal": 0.5, "ratio": None}
    if si and ni and ni.get("rss_per_connection_bytes"):
        p3["ratio"] = si["rss_per_connection_bytes"] / ni["rss_per_connection_bytes"]
    out["measures"]["p3_idle"] = p3
    pc, sc = load("p4_catalog.puppet.json"), load("p4_catalog.steward.json")
    pa, ca, sa = (load("p4_agent.puppet.json"), load("p4_agent.cfengine.json"),
                  load("p4_agent.steward.json"))
    p4 = {"catalog": {"puppet": pc, "steward": sc, "goal": 1000.0, "ratio": None},
          "agent": {"puppet": pa, "cfengine": ca, "steward": sa, "goal": 0.1}}
    if pc and sc and pc.get("rps"):
        p4["catalog"]["ratio"] = sc["rps"] / pc["rps"]
    out["measures"]["p4"] = p4
    agent = load("agent.json")
    enroll = load("enroll.json")
    reenroll = load("reenroll.json")
    site = load("sitescale.json")
    out["agent"] = agent
    out["enroll"] = enroll
    out["reenroll"] = reenroll
    out["sitescale"] = site

    def fmt_rps(x):
        return "%.0f" % x["rps"] if x else "-"

    def fmt_cpu(x):
        return "%.0f" % x["server_cpu_us_per_request"] if x and "server_cpu_us_per_request" in x else "-"

    def fmt_p99(x):
        return "%.2f" % (x["p99_us"] / 1000.0) if x else "-"

    lines = ["| measure | Steward req/s | peer req/s | ratio (goal) | server CPU µs/req Steward / peer | p99 ms Steward / peer |",
             "| --- | ---: | ---: | ---: | ---: | ---: |"]
    for what, s, p, peer, ratio, goal in rows:
        lines.append("| %s (vs %s) | %s | %s | %s (≥ %.1f) | %s / %s | %s / %s |" % (
            what, peer, fmt_rps(s), fmt_rps(p),
            "%.2f" % ratio if ratio is not None else "-", goal,
            fmt_cpu(s), fmt_cpu(p), fmt_p99(s), fmt_p99(p)))
    if si:
        lines.append("| P3 RSS per idle connection at %d (vs nginx keep-alive) | %.1f KiB | %s | %s (≤ 0.5) | | |" % (
            si["connections"], si["rss_per_connection_bytes"] / 1024.0,
            "%.1f KiB" % (ni["rss_per_connection_bytes"] / 1024.0) if ni else "-",
            "%.2f" % p3["ratio"] if p3["ratio"] is not None else "-"))
        if "all_answered_ms" in si:
            cpu = si.get("server_cpu_us_per_answer")
            n = si["answered_after_trigger"]
            # When answering began, and what the load generator's reading
            # of the answers cost (the devices' work, on the server's
            # cores only here).
            span = "p50 %.0f" % si["answer_p50_ms"]
            if "first_answer_ms" in si:
                span += ", first %.0f" % si["first_answer_ms"]
            cpus = "%.0f per answer" % cpu if cpu is not None else ""
            if cpus and n and "loadgen_cpu_answering_ms" in si:
                cpus += " (devices' %.0f)" % (si["loadgen_cpu_answering_ms"] * 1e3 / n)
            lines.append("| P3 fetch policy now: all %d held long-polls answered | %.0f ms (%s) | | (≤ 2 s at 100,000) | %s | |" % (
                n, si["all_answered_ms"], span, cpus))
            if "followed" in si and "reheld" in si:
                # Then each device, at its moment of the spread the site
                # gave (notify_spread_rate), fetches its policy and holds
                # its next long-poll.
                over = ""
                if si.get("listen_overflows", -1) >= 0:
                    over = ", %d listen-queue overflows" % si["listen_overflows"]
                lines.append("| P3 then every device fetches its policy and holds its next long-poll at its moment of the spread (%d and %d resumed, %d failed%s) | all back in %.1f s | | | %.0f ms in all; peak %.0f%% of a core in a second | |" % (
                    si["follow_resumed"], si["rehold_resumed"],
                    si["follow_failed"] + si["rehold_failed"], over, si["all_followed_ms"] / 1e3,
                    si["follow_server_cpu_ms"], si["follow_peak_server_cpu_pct"]))
    # Where the machine could not hold as many as asked: the request at
    # the collection's full size (p3_wide), and the time to answer all of
    # it projected from the two runs. A projection, said so.
    wide, wsite = load("p3_wide.steward.json"), load("p3_wide.site.json")
    if wide and wsite:
        pw = {"steward": wide, "members": wsite["members"],
              "workers": wsite["workers"], "projected_ms": None}
        out["measures"]["p3_wide"] = pw
        if wide.get("all_answered_ms", -1) >= 0:
            lines.append("| P3 fetch policy now to a collection of %d, %d of them holding a long-poll (the rest have no device) | first answer %.0f ms, all %d in %.0f ms (stewardctl returned at %.0f) | | | %.0f per answer | |" % (
                wsite["members"], wide["answered_after_trigger"],
                wide["first_answer_ms"], wide["answered_after_trigger"],
                wide["all_answered_ms"], wide["trigger_ms"],
                wide["server_cpu_us_per_answer"]))
        if (si and wide.get("all_answered_ms", -1) >= 0 and
                si.get("server_cpu_us_per_answer") and
                wide.get("server_cpu_us_per_answer")):
            # The answering starts when the request has queued every
            # notification (the first answer at full size); then the
            # workers share the answers, the devices being on other
            # machines. The CPU per answer: P3's (its request, at its own
            # size, counted in it) for the low end; this run's for the
            # high end, which counts the full-size request's CPU once more.
            us = sorted((si["server_cpu_us_per_answer"],
                         wide["server_cpu_us_per_answer"]))
            lo, hi = (wide["first_answer_ms"] + wsite["members"] * x /
                      wsite["workers"] / 1e3 for x in us)
            pw["projected_ms"] = [lo, hi]
            lines.append("| P3 fetch policy now, projected for %d held: first answer at that size + %d × %.0f–%.0f µs / %d workers | %.2f–%.2f s (a projection) | | (≤ 2 s) | | |" % (
                wsite["members"], wsite["members"], us[0], us[1],
                wsite["workers"], lo / 1e3, hi / 1e3))
    if sc:
        lines.append("| P4 Steward policy (full document) vs Puppet Server catalog, 8 keep-alive connections | %s | %s | %s (≥ 1000) | %s / %s | %s / %s |" % (
            fmt_rps(sc), "%.1f" % pc["rps"] if pc else "-",
            "%.0f" % p4["catalog"]["ratio"] if p4["catalog"]["ratio"] else "-",
            fmt_cpu(sc), fmt_cpu(pc), fmt_p99(sc), fmt_p99(pc)))
    if sa:
        def cost(x):
            return "%.3f s wall, %.3f s CPU" % (x["wall_s"], x["cpu_s"]) if x else "-"
        lines.append("| P4 agent check-in: `steward-agent run --once` vs `puppet agent -t` | %s | %s | %s | | |" % (
            cost(sa), cost(pa), "%.3f wall" % (sa["wall_s"] / pa["wall_s"]) if pa else "-"))
        lines.append("| P4 agent check-in: vs CFEngine `cf-agent -K` update run | %s | %s | %s (≤ 0.1) | | |" % (
            cost(sa), cost(ca), "%.2f wall, %.2f CPU" % (sa["wall_s"] / ca["wall_s"], sa["cpu_s"] / ca["cpu_s"]) if ca else "-"))
    for sc, what in (("inventory", "inventory reports (full, then deltas)"),
                     ("status", "status batches of 10 messages"),
                     ("mixed", "mixed steady state (heartbeat, policy, health, status, inventory)")):
        x = load("reports_%s.steward.json" % sc)
        out["measures"]["reports_" + sc] = x
        if x:
            lines.append("| Steward alone: %s, 16 connections | %s | | | %s / - | %s / - |" % (
                what, fmt_rps(x), fmt_cpu(x), fmt_p99(x)))
    ing = load("ingest.json")
    out["ingest"] = ing
    if ing:
        lines.append("| inventory rows ingested vs a raw SQLite insert of the same rows | %d rows/s | %d rows/s | %.2f | | |" % (
            ing["inventory_rows_per_s"], ing["raw_sqlite_rows_per_s"], ing["inventory_vs_raw_sqlite"]))
        lines.append("| status messages ingested (batches of 100) | %d /s | | | | |" % ing["status_messages_per_s"])
    if agent:
        lines.append("| agent idle RSS (goal ≤ 5 MiB) | %.1f MiB | | %s | | |" % (
            agent["idle_rss_kb"] / 1024.0,
            "met" if agent["idle_rss_kb"] <= 5 * 1024 else "missed"))
        if "anon_kb" in agent:
            lines.append("| agent idle: anonymous (its own) / PSS | %.1f / %.1f MiB | | | | |" % (
                agent["anon_kb"] / 1024.0, agent["pss_kb"] / 1024.0))
    if enroll:
        lines.append("| enrollment: certificates issued (approval all, 8 at a time) | %.0f /s | | | %s / - | %s / - |" % (
            enroll["rps"], fmt_cpu(enroll), fmt_p99(enroll)))
    if reenroll:
        lines.append("| re-enrollment: %d devices enroll again, each revoking its old certificate | %.0f /s | | | %s / - | %s / - |" % (
            reenroll["requests"], reenroll["rps"], fmt_cpu(reenroll), fmt_p99(reenroll)))
    if site:
        lines.append("| whole site (%d clients, %d revoked certificates): start; CRL %.1f MB, servers' CRL %d bytes | %.2f s | | | | |" % (
            site["clients"], site["revoked"], site["crl_bytes"] / 1e6,
            site["crl_servers_bytes"], site["start_s"]))
        lines.append("| whole site: %d devices enroll, then enroll again (each revoking a certificate) | %.0f /s, then %.0f /s | | | %s, then %s / - | %s, then %s / - |" % (
            site["fresh"]["requests"], site["fresh"]["rps"], site["again"]["rps"],
            fmt_cpu(site["fresh"]), fmt_cpu(site["again"]),
            fmt_p99(site["fresh"]), fmt_p99(site["again"])))
        lines.append("| whole site: `stewardctl clients list` / `report health` | %.2f s / %.2f s | | | | |" % (
            site["list_s"], site["report_s"]))
    md = "\n".join(lines) + "\n"
    mc = out["machine"]
    header = ("Machine: %s, %s cores, %s, kernel %s, %s; Steward %s; nginx %s; "
              "Puppet Server %s; %s. "
              "Load generator: steward-loadgen on the same machine, %s s per "
              "measurement, %s keep-alive connections (8 for handshakes), %s "
              "identities; P1 and P2: the median of %s rounds of %s s, Steward and "
              "nginx in turn.\n\n" % (mc["cpu"], mc["cores"], mc["os"], mc["kernel"],
                                   mc["openssl"], mc["steward"], mc["nginx"] or "-",
                                   mc["puppetserver"] or "-", mc["cfengine"] or "CFEngine -",
                                   SECS, CONNS, AGENTS, ROUNDS, RSECS))
    with open(os.path.join(R, "latest.md"), "w") as f:
        f.write(header + md)
    with open(os.path.join(R, "latest.json"), "w") as f:
        json.dump(out, f, indent=2)
        f.write("\n")
    print(header + md)


main()
