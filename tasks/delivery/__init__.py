"""E-mail: messages built as data, the mailers that send them, and delivery exactly once per recipient."""
