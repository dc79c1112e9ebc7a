#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""Send QMP commands to a QEMU monitor socket and print each reply.

    qmp.py SOCKET COMMAND...

A COMMAND is a QMP JSON object, or "hmp:TEXT" for a human monitor command
(its output is printed as text). "wait-migration" polls query-migrate until
the migration completes (exit 1 if it fails). Events are skipped.
"""
import json
import socket
import sys
import time


class Monitor:
    def __init__(self, path):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        for _ in range(100):
            try:
                self.sock.connect(path)
                break
            except OSError:
                time.sleep(0.1)
        else:
            sys.exit('qmp: cannot connect to %s' % path)
        self.file = self.sock.makefile('rw')
        self.read()  # greeting
        self.execute({'execute': 'qmp_capabilities'})

    def read(self):
        while True:
            line = self.file.readline()
            if not line:
                sys.exit('qmp: monitor closed')
            msg = json.loads(line)
            if 'event' not in msg:
                return msg

    def execute(self, cmd):
        self.file.write(json.dumps(cmd) + '\n')
        self.file.flush()
        reply = self.read()
        if 'error' in reply:
            sys.exit('qmp: %s failed: %s' % (cmd, reply['error']))
        return reply['return']


def main():
    mon = Monitor(sys.argv[1])
    for arg in sys.argv[2:]:
        if arg.startswith('hmp:'):
            out = mon.execute({'execute': 'human-monitor-command',
                               'arguments': {'command-line': arg[4:]}})
            print(out, end='' if out.endswith('\n') or not out else '\n')
        elif arg == 'wait-migration':
            while True:
                status = mon.execute({'execute': 'query-migrate'})
                state = status.get('status')
                if state == 'completed':
                    print('migration completed')
                    break
                if state in ('failed', 'cancelled'):
                    sys.exit('qmp: migration %s: %s' % (state, status))
                time.sleep(0.05)
        else:
            print(json.dumps(mon.execute(json.loads(arg))))
            sys.stdout.flush()


if __name__ == '__main__':
    main()
