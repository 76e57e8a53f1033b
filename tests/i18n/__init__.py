"""course/i18n/: the Simplified Chinese edition and the messages in each edition's language."""
