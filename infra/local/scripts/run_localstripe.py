"""localstripe, the Stripe emulator the tests run against, bound to 127.0.0.1
and kept in memory.

Its own launcher listens on every interface and pickles its whole store to
/tmp/localstripe.pickle on every write (shared by every instance on the
machine); here nothing is written to disk and only loopback is served.

usage: run_localstripe.py PORT (named so as not to shadow the localstripe package)
"""
import sys

from aiohttp import web
from localstripe import resources, server

resources.Store.dump_to_disk = lambda self: None

web.run_app(server.app, host="127.0.0.1", port=int(sys.argv[1]), access_log=None, print=None)
