from labwarden.cli import run

run()
