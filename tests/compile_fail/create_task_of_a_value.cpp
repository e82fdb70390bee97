// expect: create_task takes the Task<T> that calling a coroutine function returns
#include <aiocpp/aiocpp.hpp>

void amain() { aiocpp::get_running_loop().create_task(42); }
