"""The one `trialdesk` command.

Sub-commands live in `trialdesk/commands/<name>.py`, each a click command or group, listed in
COMMANDS below (an explicit registry: nothing registers itself on import). They are imported
only when used, so `trialdesk protocol check` never loads Django or scipy.
"""

from __future__ import annotations

import importlib

import click

COMMANDS: dict[str, tuple[str, str]] = {
    # name: (module, attribute, help)
    "protocol": ("trialdesk.commands.protocol:protocol", "Check and show protocol files."),
    "design": ("trialdesk.commands.design:design", "Power, sample size, group-sequential designs."),
    "simulate": (
        "trialdesk.commands.simulate:simulate",
        "Operating characteristics by simulation.",
    ),
    "synth": ("trialdesk.commands.simulate:synth", "Generate a synthetic study dataset."),
    "init": ("trialdesk.commands.web:init", "Create secrets, migrate, load the protocol, admin."),
    "migrate": ("trialdesk.commands.web:migrate", "Apply database migrations."),
    "db": ("trialdesk.commands.db:db", "PostgreSQL roles: the least-privileged application role."),
    "serve": ("trialdesk.commands.web:serve", "Serve the web app."),
    "load-protocol": ("trialdesk.commands.web:load_protocol", "Load a protocol into the database."),
    "createadmin": ("trialdesk.commands.web:createadmin", "Create an administrator account."),
    "users": ("trialdesk.commands.users:users", "People, roles and sites (audited)."),
    "manage": ("trialdesk.commands.web:manage", "Run a Django management command."),
    "audit": ("trialdesk.commands.audit:audit", "Verify and export the audit trail."),
    "demo": ("trialdesk.commands.demo:demo", "Load demonstration data."),
    "safety": ("trialdesk.commands.safety:safety", "Adverse events: reporting clocks."),
    "interim": (
        "trialdesk.commands.interim:interim",
        "The interim analysis of the primary endpoint (unblinded).",
    ),
    "analyze": (
        "trialdesk.commands.analyze:analyze",
        "The final analysis of a locked snapshot (report, datasets, results JSON).",
    ),
    "notices": (
        "trialdesk.commands.notices:notices",
        "Notices of recruiting trials to confirmed subscribers.",
    ),
    "tick": ("trialdesk.commands.tick:tick", "Run the periodic tasks once (cron: every minute)."),
}


class LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in COMMANDS:
            return None
        target, _help = COMMANDS[cmd_name]
        module_name, attr = target.split(":")
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name == module_name:
                return _unavailable(cmd_name)
            raise
        return getattr(module, attr)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name, COMMANDS[name][1]) for name in self.list_commands(ctx)]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


def _unavailable(name: str) -> click.Command:
    @click.command(name=name, help="Not available in this build.")
    def _cmd() -> None:
        raise click.ClickException(f"'{name}' is not available in this build")

    return _cmd


@click.group(cls=LazyGroup)
@click.version_option(package_name="trialdesk")
def main() -> None:
    """trialdesk: run a randomized clinical trial."""


if __name__ == "__main__":
    main()
