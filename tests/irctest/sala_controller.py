"""irctest controller for Sala (tests/irctest/run-core.sh runs it).

irctest starts one server per test through this module: `run()` starts
`server` on the port it is given, with a throw-away data directory, and says
honestly what Sala supports: what it lacks raises NotImplementedByController
(the test is skipped), what it claims below is tested rather than skipped.
"""

import os
import socket
from typing import Dict, Optional, Set, Type, Union

from irctest.basecontrollers import BaseServerController, DirectoryBasedController
from irctest.runner import NotImplementedByController
from irctest.specifications import Capabilities, OptionalBehaviors

SERVER_BIN = os.environ.get("IRCTEST_SERVER_BIN", "server")


class SalaController(BaseServerController, DirectoryBasedController):
    software_name = "Sala"
    # SASL PLAIN against Sala's own accounts (registerUser makes them).
    supported_sasl_mechanisms: Set[str] = {"PLAIN"}
    supports_sts = False
    # Offered in CAP LS (src/proto/irc/caps.rs); cap-notify,
    # userhost-in-names and draft/chathistory have no entry in irctest's list
    # (the chathistory tests run whenever the server offers it).
    capabilities = frozenset(
        [
            Capabilities.ACCOUNT_NOTIFY,
            Capabilities.ACCOUNT_TAG,
            Capabilities.AWAY_NOTIFY,
            Capabilities.BATCH,
            Capabilities.ECHO_MESSAGE,
            Capabilities.EXTENDED_JOIN,
            Capabilities.LABELED_RESPONSE,
            Capabilities.MESSAGE_TAGS,
            Capabilities.MULTI_PREFIX,
            Capabilities.SERVER_TIME,
            Capabilities.SETNAME,
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
    # Mutes are `MODE #chan +b m:mask` (ISUPPORT EXTBAN=,m).
    extban_mute_char: Optional[str] = "m"
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
        # Accounts are Sala's own: no services process to start.
        del run_services
        assert self.proc is None
        self.port = port
        self.hostname = hostname
        self.create_config()
        assert self.directory
        oper_password = os.path.join(self.directory, "oper-password")
        with open(oper_password, "w") as f:
            f.write("operpassword\n")
        assert self.directory
        # The CHAT/1 door always listens: give it a free port of its own.
        (chat_hostname, chat_port) = self.get_hostname_and_port()
        self.chat_address = (chat_hostname, chat_port)
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
                # irctest's OPER tests use operuser/operpassword: an admin
                # account the server makes at start.
                "--admin",
                "operuser",
                "--admin-password-file",
                oper_password,
            ],
            cwd=self.directory,
        )


    def wait_for_services(self) -> None:
        """Accounts are part of the server: ready when its port is."""
        self.wait_for_port()

    def registerUser(self, case, username: str, password: Optional[str] = None) -> None:
        """Registers account `username` the CHAT/1 way: NICK, then REGISTER."""
        if password is None or " " in password:
            raise NotImplementedByController("account without a one-word password")
        self.wait_for_port()
        with socket.create_connection(self.chat_address, timeout=10) as conn:
            conn.sendall(f"NICK {username}\nREGISTER {password}\n".encode())
            seen = b""
            while b"OK REGISTER" not in seen:
                data = conn.recv(4096)
                seen += data
                if not data or b"ERR " in seen:
                    raise AssertionError(f"cannot register {username}: {seen!r}")
            conn.sendall(b"QUIT\n")


def get_irctest_controller_class() -> Type[SalaController]:
    return SalaController
