def applies(f):
    return False


def steps(f, x, disp):
    raise NotImplementedError


def tables(e, at, evaluate):
    raise NotImplementedError
