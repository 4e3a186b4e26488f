#!/usr/bin/env python3
"""Reads the shipped systemd units and runs what they say, for the tests of
contrib/systemd/ on a machine where systemd is not the service manager.

  unit_exec.py get UNIT SECTION KEY
      prints every value of KEY in SECTION, one a line (nothing: exit 1)
  unit_exec.py run [options] UNIT KEY
      sets up the process as the [Service] section of UNIT says and execs
      the command line KEY (ExecStart, ExecStartPre, ExecReload), so the
      caller's $! is the service's main PID. Options:
        --root DIR        the tree `make install DESTDIR=DIR` filled: the
                          program, RuntimeDirectory=, ListenStream= and
                          Environment= paths are taken under DIR
        --user-map A=B    run as user B where the unit names user A (an
                          account the test machine does not have)
        --group-map A=B   the same for a group
        --socket UNIT     the .socket unit that hands the service its
                          listening socket (StandardInput=socket)
        --env NAME=VALUE  a variable for $NAME in the command line (MAINPID)
                          and, when the unit sets none, in the environment
        --dry-run         print the argument vector, one a line, and stop

What is applied, as systemd would: Environment=, User=, Group=,
UMask=, LimitCORE=, RuntimeDirectory= with RuntimeDirectoryMode=, the
command-line prefixes "-@:+!" (stripped; "-" ignores a failure, which
the caller sees as the exit status anyway), $VAR and ${VAR} expansion, and
for a socket unit ListenStream=, SocketUser=, SocketGroup=, SocketMode=,
Accept=no. The sandboxing options (ProtectSystem= and the like) are
checked by systemd-analyze verify, not enforced here.
"""
import grp
import os
import pwd
import re
import resource
import shlex
import socket
import sys


def parse(path):
    """{section: [(key, value)]}, with systemd's continuation lines."""
    sections = {}
    cur = None
    pending = ""
    with open(path, encoding="utf-8") as f:
        for raw in f:
            line = raw.rstrip("\n")
            if pending:
                line = pending + line.lstrip()
                pending = ""
            if line.endswith("\\"):
                pending = line[:-1] + " "
                continue
            s = line.strip()
            if not s or s[0] in "#;":
                continue
            if s.startswith("[") and s.endswith("]"):
                cur = s[1:-1]
                sections.setdefault(cur, [])
                continue
            if "=" not in s or cur is None:
                sys.exit("%s: cannot parse line: %s" % (path, s))
            k, v = s.split("=", 1)
            sections[cur].append((k.strip(), v.strip()))
    return sections


def values(sections, section, key):
    return [v for k, v in sections.get(section, []) if k == key]


def last(sections, section, key, default=None):
    v = values(sections, section, key)
    return v[-1] if v else default


def under(root, path):
    """An absolute path of the unit, inside the installed tree."""
    if root and path.startswith("/"):
        return os.path.join(root, path.lstrip("/"))
    return path


def expand(word, env):
    def sub(m):
        name = m.group(1) or m.group(2)
        if name not in env:
            sys.exit("unit_exec: $%s is not set (pass --env %s=...)" % (name, name))
        return env[name]
    return re.sub(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)",
                  sub, word)


def command(sections, key, env):
    lines = values(sections, "Service", key)
    if len(lines) != 1:
        sys.exit("unit_exec: %d %s= lines (expected one)" % (len(lines), key))
    line = lines[0]
    while line and line[0] in "-@:+!":
        line = line[1:]
    argv = [expand(w, env) for w in shlex.split(line)]
    if not argv or not argv[0].startswith("/"):
        sys.exit("unit_exec: %s= must start with an absolute path: %s" % (key, line))
    return argv


def account(name, mapping, db):
    return db(mapping.get(name, name))


def listening_socket(sock_unit, root, mapping):
    s = parse(sock_unit)
    if last(s, "Socket", "Accept", "no") not in ("no", "false", "0"):
        sys.exit("unit_exec: %s: Accept=yes hands over connections, not a "
                 "listening socket" % sock_unit)
    streams = values(s, "Socket", "ListenStream")
    if len(streams) != 1 or not streams[0].startswith("/"):
        sys.exit("unit_exec: %s: expected one ListenStream= unix path" % sock_unit)
    path = under(root, streams[0])
    # systemd creates missing parent directories with DirectoryMode= (0755).
    os.makedirs(os.path.dirname(path), mode=int(last(s, "Socket", "DirectoryMode", "0755"), 8),
                exist_ok=True)
    if os.path.exists(path):
        os.unlink(path)
    ls = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    ls.bind(path)
    os.chmod(path, int(last(s, "Socket", "SocketMode", "0666"), 8))
    uid = gid = -1
    if last(s, "Socket", "SocketUser"):
        uid = account(last(s, "Socket", "SocketUser"), mapping["user"],
                      pwd.getpwnam).pw_uid
    if last(s, "Socket", "SocketGroup"):
        gid = account(last(s, "Socket", "SocketGroup"), mapping["group"],
                      grp.getgrnam).gr_gid
    os.chown(path, uid, gid)
    ls.listen(int(last(s, "Socket", "Backlog", "128")))
    return ls


def main():
    args = sys.argv[1:]
    if len(args) == 4 and args[0] == "get":
        v = values(parse(args[1]), args[2], args[3])
        for line in v:
            print(line)
        return 0 if v else 1
    if not args or args[0] != "run":
        sys.exit(__doc__)
    args = args[1:]
    root = None
    mapping = {"user": {}, "group": {}}
    sock_unit = None
    env = {}
    dry = False
    while args and args[0].startswith("--"):
        opt = args.pop(0)
        if opt == "--dry-run":
            dry = True
            continue
        val = args.pop(0)
        if opt == "--root":
            root = val
        elif opt in ("--user-map", "--group-map"):
            a, b = val.split("=", 1)
            mapping[opt[2:-4]][a] = b
        elif opt == "--socket":
            sock_unit = val
        elif opt == "--env":
            a, b = val.split("=", 1)
            env[a] = b
        else:
            sys.exit("unit_exec: unknown option " + opt)
    if len(args) != 2:
        sys.exit(__doc__)
    unit, key = args
    s = parse(unit)

    # Environment= first: the command line may use its variables.
    service_env = {}
    for e in values(s, "Service", "Environment"):
        for w in shlex.split(e):
            a, b = w.split("=", 1)
            service_env[a] = under(root, b) if b.startswith("/") and root else b
    argv = command(s, key, dict(env, **service_env))
    argv[0] = under(root, argv[0])
    if dry:
        print("\n".join(argv))
        return 0
    environ = {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
               "LANG": "C.UTF-8"}
    for k, v in env.items():
        environ.setdefault(k, v)
    environ.update(service_env)

    user = last(s, "Service", "User")
    group = last(s, "Service", "Group")
    pw = account(user, mapping["user"], pwd.getpwnam) if user else None
    gid = (account(group, mapping["group"], grp.getgrnam).gr_gid if group
           else (pw.pw_gid if pw else os.getgid()))

    rd = last(s, "Service", "RuntimeDirectory")
    if rd:
        for d in rd.split():
            path = under(root, "/run/" + d)
            os.makedirs(path, exist_ok=True)
            os.chmod(path, int(last(s, "Service", "RuntimeDirectoryMode", "0755"), 8))
            os.chown(path, pw.pw_uid if pw else 0, gid if pw else 0)

    if sock_unit:
        if last(s, "Service", "StandardInput") != "socket":
            sys.exit("unit_exec: %s has no StandardInput=socket" % unit)
        ls = listening_socket(sock_unit, root, mapping)
        os.dup2(ls.fileno(), 0)
        ls.close()

    if last(s, "Service", "LimitCORE") is not None:
        n = last(s, "Service", "LimitCORE")
        n = resource.RLIM_INFINITY if n == "infinity" else int(n)
        resource.setrlimit(resource.RLIMIT_CORE, (n, n))
    if last(s, "Service", "UMask") is not None:
        os.umask(int(last(s, "Service", "UMask"), 8))
    if pw:
        os.setgid(gid)
        os.initgroups(pw.pw_name, gid)
        os.setuid(pw.pw_uid)
        environ.update(HOME=pw.pw_dir, USER=pw.pw_name, LOGNAME=pw.pw_name)
    os.execve(argv[0], argv, environ)


if __name__ == "__main__":
    sys.exit(main())
