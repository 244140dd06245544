"""gunicorn's settings for this app, read from the directory it starts in (docker-compose's
and the README's commands start it in the checkout)."""

# The access log without query strings: searches and lookups carry callers' names and
# numbers (?q=, ?phone=, ?who=), which no log keeps. The path, the status, the size and
# the milliseconds are what an operator needs.
access_log_format = '%(h)s %(t)s "%(m)s %(U)s %(H)s" %(s)s %(b)s %(M)sms'
