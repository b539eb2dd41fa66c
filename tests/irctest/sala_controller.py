"""irctest controller for Sala (tests/irctest/run-core.sh runs it).

irctest starts one server per test through this module: `run()` starts
`server` on the port it is given, with a throw-away data directory, and says
honestly what Sala supports: what it lacks raises NotImplementedByController
(the test is skipped), what it claims below is tested rather than skipped.
"""

import os
from typing import Dict, Optional, Set, Type, Union

from irctest.basecontrollers import BaseServerController, DirectoryBasedController
from irctest.runner import NotImplementedByController
from irctest.specifications import Capabilities, OptionalBehaviors

SERVER_BIN = os.environ.get("IRCTEST_SERVER_BIN", "server")


class SalaController(BaseServerController, DirectoryBasedController):
    software_name = "Sala"
    supported_sasl_mechanisms: Set[str] = set()
    supports_sts = False
    # Offered in CAP LS (src/proto/irc/caps.rs); cap-notify and
    # userhost-in-names have no entry in irctest's list.
    capabilities = frozenset(
        [
            Capabilities.ACCOUNT_TAG,
            Capabilities.AWAY_NOTIFY,
            Capabilities.ECHO_MESSAGE,
            Capabilities.EXTENDED_JOIN,
            Capabilities.MULTI_PREFIX,
            Capabilities.SERVER_TIME,
        ]
    )
    optional_behaviors = frozenset([OptionalBehaviors.CAP_REQ_MINUS])
    # Checked against 005 by isupport.py's testValues (src/proto/irc/render.rs).
    isupport: Dict[str, Union[str, None]] = {
        "CASEMAPPING": "ascii",
        "CHANTYPES": "#&",
        "PREFIX": "(ov)@+",
        "NICKLEN": "24",
        "TARGMAX": "PRIVMSG:4,NOTICE:4,JOIN:4,PART:4,NAMES:4,WHOIS:1,KICK:4",
        "ELIST": "MNU",
        "WHOX": None,
        "NETWORK": "Sala",
    }
    extban_mute_char: Optional[str] = None
    # Sala answers every command in order (one dispatcher thread).
    sync_sleep_time = 0.0

    def run(
        self,
        hostname: str,
        port: int,
        *,
        password: Optional[str],
        ssl: bool,
        run_services: bool,
        faketime: Optional[str],
        websocket_hostname: Optional[str],
        websocket_port: Optional[int],
    ) -> None:
        if websocket_hostname is not None or websocket_port is not None:
            raise NotImplementedByController("Websocket")
        if ssl:
            raise NotImplementedByController("TLS")
        if password is not None:
            raise NotImplementedByController("PASS (a server password)")
        if run_services:
            raise NotImplementedByController("Services")
        assert self.proc is None
        self.port = port
        self.hostname = hostname
        self.create_config()
        assert self.directory
        # The CHAT/1 door always listens: give it a free port of its own.
        (chat_hostname, chat_port) = self.get_hostname_and_port()
        self.proc = self.execute(
            [
                SERVER_BIN,
                "--irc-listen",
                f"{hostname}:{port}",
                "--listen",
                f"{chat_hostname}:{chat_port}",
                "--web-listen",
                "off",
                # irctest expects this name in prefixes and numerics.
                "--server-name",
                "My.Little.Server",
                "--flood-rate",
                "0",
                "--no-persist",
            ],
            cwd=self.directory,
        )


def get_irctest_controller_class() -> Type[SalaController]:
    return SalaController
