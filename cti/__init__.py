"""CTI server: AMI client, call/agent state, screen-pop server and bus."""
