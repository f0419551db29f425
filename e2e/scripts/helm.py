"""Renders, lints and validates a Helm chart with Helm's own Go SDK (helm-python-sdk).

Run with the python of e2e/scripts/helm-venv.sh:

  helm.py lint CHART [--values JSON] [--kube-version v1.20.2]
      Strict lint: every finding (warnings included) is printed, and any makes it fail.
  helm.py validate CHART [--values JSON]
      Checks the values (merged over the chart's defaults) against values.schema.json.
  helm.py render CHART --name NAME --namespace NS [--values JSON] [--include-crds]
      Validates, then prints the rendered manifests as one YAML stream, ordered by template
      path (CRDs first when asked for), as `helm template` would.

Exit codes: 0 fine, 1 lint findings or a render error, 2 values rejected by the schema.
"""

import argparse
import json
import sys

import helm_python as helm

SEVERITY = {0: "UNKNOWN", 1: "INFO", 2: "WARNING", 3: "ERROR"}


def values_of(args):
    return json.loads(args.values) if args.values else {}


def validate(chart, values):
    try:
        chart.validate_schema(chart.merge_values(values))
    except helm.HelmValuesError as e:
        print(f"values rejected: {e}", file=sys.stderr)
        sys.exit(2)


def cmd_lint(args):
    report = helm.lint(args.chart, values_of(args), strict=True, kube_version=args.kube_version)
    findings = [m for m in report.get("messages") or [] if m.get("severity", 0) != 1]
    for m in report.get("messages") or []:
        level = SEVERITY.get(m.get("severity", 0), "?")
        print(f"[{level}] {m.get('path', '')}: {m.get('error', '')}")
    for e in report.get("errors") or []:
        print(f"[ERROR] {e}")
    linted = report.get("total_charts_linted", 0)
    print(f"{linted} chart(s) linted, {len(findings)} finding(s)")
    sys.exit(1 if findings or report.get("errors") or linted != 1 else 0)


def cmd_validate(args):
    with helm.Chart.load(args.chart) as chart:
        validate(chart, values_of(args))
    print("values accepted")


def cmd_render(args):
    with helm.Chart.load(args.chart) as chart:
        values = values_of(args)
        validate(chart, values)
        try:
            rendered = chart.render(values, name=args.name, namespace=args.namespace,
                                    is_install=True)
        except helm.HelmError as e:
            print(f"render failed: {e}", file=sys.stderr)
            sys.exit(1)
        docs = []
        if args.include_crds:
            docs += [c["data"] for c in sorted(chart.crds, key=lambda c: c["filename"])]
        for path in sorted(rendered):
            if path.endswith(".yaml") and rendered[path].strip():
                docs.append(f"# Source: {path}\n{rendered[path].strip()}\n")
    out = ""
    for doc in docs:
        body = doc if doc.lstrip().startswith("---") else "---\n" + doc
        out += body if body.endswith("\n") else body + "\n"
    sys.stdout.write(out)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    lint = sub.add_parser("lint")
    lint.add_argument("chart")
    lint.add_argument("--values")
    lint.add_argument("--kube-version", default="v1.20.2")
    lint.set_defaults(run=cmd_lint)
    check = sub.add_parser("validate")
    check.add_argument("chart")
    check.add_argument("--values")
    check.set_defaults(run=cmd_validate)
    render = sub.add_parser("render")
    render.add_argument("chart")
    render.add_argument("--name", required=True)
    render.add_argument("--namespace", required=True)
    render.add_argument("--values")
    render.add_argument("--include-crds", action="store_true")
    render.set_defaults(run=cmd_render)
    args = parser.parse_args()
    args.run(args)


if __name__ == "__main__":
    main()
