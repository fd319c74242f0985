from stedi.cli import entry

# The guard matters: the commit worker is a spawned process, which imports this module again.
if __name__ == "__main__":
    entry()
