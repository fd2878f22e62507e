"""What labwarden knows, as data: which ports are databases or admin panels, which variable
names hold secrets and which values are well-known defaults, weak SSH algorithms, Mozilla's
TLS profiles, image names and references, default logins.

Sources, rules and fixers all read it; none of them owns it. Judgement stays in the rules:
a table here says what a thing is, a rule says whether that is a problem.
"""
