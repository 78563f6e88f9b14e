# Overrides the insecure default of web_tokens: no finding for aws_instance.web.
web_tokens = "required"
