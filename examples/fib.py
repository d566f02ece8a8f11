def fibonacci(n):
    """Return the n-th Fibonacci number."""
    if n < 2:
        return n
    return 


def is_prime(n):
    """True if n is a prime number."""
    if n < 2:
        return False
    for i in range(2, int(n ** 0.5) + 1):
        if n % i == 0:
            return False
    return True


if __name__ == "__main__":
    print(fibonacci(10), is_prime(7))
