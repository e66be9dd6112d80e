"""Start moto's server on 127.0.0.1, seed an organization, run `orgtrust-lint drift`, stop.

Used by `make demo` so the drift report can be seen without any AWS account. The fake
credentials below only ever reach the local server.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys

import boto3
from moto.server import ThreadedMotoServer


def main() -> int:
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # no request log in the demo
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        endpoint = f"http://{host}:{port}"
        env = {
            **os.environ,
            "AWS_ACCESS_KEY_ID": "AKIADEMODEMODEMODEMO",
            "AWS_SECRET_ACCESS_KEY": "demo-secret-not-real",
            "AWS_DEFAULT_REGION": "us-east-1",
        }
        os.environ.update({k: v for k, v in env.items() if k.startswith("AWS_")})
        organizations = boto3.client("organizations", endpoint_url=endpoint, region_name="us-east-1")
        organizations.create_organization(FeatureSet="ALL")
        for principal in ("config.amazonaws.com", "guardduty.amazonaws.com", "sso.amazonaws.com"):
            organizations.enable_aws_service_access(ServicePrincipal=principal)
        print(f"moto organization on {endpoint}: enabled config, guardduty and (by hand) sso\n", flush=True)
        command = [os.path.join(os.path.dirname(sys.executable), "orgtrust-lint"), "drift", "fixtures/drift"]
        return subprocess.run([*command, "--endpoint-url", endpoint], env=env, check=False).returncode
    finally:
        server.stop()


if __name__ == "__main__":
    sys.exit(main())
