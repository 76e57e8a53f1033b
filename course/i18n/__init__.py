"""The languages students read: the messages' catalogues and the translated notebooks."""
