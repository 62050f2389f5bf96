"""Entry points and flows: the command line (cli, with its console and Prefect runtime), the
safe_push flow and its predict and train subflows, and the stage pipeline they share."""
