#!/usr/bin/env bash
# Installs what `make check` needs and a fresh machine may lack. Idempotent:
# it installs only what is missing, so a second run costs nothing.
set -euo pipefail

need=()
command -v promtool >/dev/null 2>&1 || need+=(prometheus)
command -v prometheus-pushgateway >/dev/null 2>&1 || [ -x /usr/bin/prometheus-pushgateway ] || need+=(prometheus-pushgateway)
command -v systemd-analyze >/dev/null 2>&1 || need+=(systemd)
# The metrics end-to-end tests run the real Prometheus, Alertmanager and node_exporter.
[ -x /usr/bin/prometheus-alertmanager ] || need+=(prometheus-alertmanager)
[ -x /usr/bin/prometheus-node-exporter ] || need+=(prometheus-node-exporter)
# The PostgreSQL store's tests start their own server in a temp dir, as
# the postgres user the package creates; any major version will do.
compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null || need+=(postgresql)

if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; else SUDO=; fi
  echo "installing Debian packages: ${need[*]}"
  # Installing prometheus must not start its daemons: this is a build
  # machine. policy-rc.d exit 101 forbids service starts during the install.
  cleanup=
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' | $SUDO tee /usr/sbin/policy-rc.d >/dev/null
    $SUDO chmod +x /usr/sbin/policy-rc.d
    cleanup=yes
  fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
  if [ -n "$cleanup" ]; then $SUDO rm -f /usr/sbin/policy-rc.d; fi
fi
