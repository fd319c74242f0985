#!/usr/bin/env bash
# System packages the Spark engine and the tests need: a Java runtime, Debian's SQLite JDBC driver
# (Iceberg's JdbcCatalog reads the warehouse's SQLite catalog through it), and Chromium for the
# report's browser test (driven by Playwright with executable_path). Idempotent; Debian/Ubuntu.
set -euo pipefail
need=()
command -v java >/dev/null 2>&1 || need+=(openjdk-17-jre-headless)
[ -f /usr/share/java/sqlite-jdbc.jar ] || need+=(libxerial-sqlite-jdbc-java)
command -v chromium >/dev/null 2>&1 || need+=(chromium)
[ ${#need[@]} -eq 0 ] && exit 0
if ! command -v apt-get >/dev/null 2>&1; then
  echo "install these yourself (no apt-get here): ${need[*]}" >&2
  exit 1
fi
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${need[@]}"
