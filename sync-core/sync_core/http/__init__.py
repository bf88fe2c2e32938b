"""Each system's HTTP rules, written once for its tap and its target."""
