"""The web console: Alerts, Feeds, Rules, Playground, Subscriptions (issue 14)."""
