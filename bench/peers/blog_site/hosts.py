from django_hosts import host, patterns

host_patterns = patterns("", host(r"www", "urls", name="www"))
