"""Outgoing messages: what a recipient address is, the outbox's sending, and the adapters.

addresses     what one valid recipient address is (the `email` type, recipients, SMTP)
delivering    sending the outbox: claim, send, retry with backoff, give up
adapters      where a message goes: stdout, a folder of files, SMTP
smtp          the SMTP adapter and the email a message becomes
csvbatch      a fulfilment list's CSV attachment
"""
