//! Cross-script name matching, measured: real spellings of one person must share a key
//! (at least 98 % of the pairs), and distinct people must not (at most 0.5 % of the pairs).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeSet;

use liaison_selectors::{normalise, Context, SelectorKind};

/// Spellings of one person (or one given name), across Latin, Cyrillic and Arabic script.
const SAME: &[(&str, &str)] = &[
    ("Sergei", "Sergey"),
    ("Sergey", "Сергей"),
    ("Sergei", "Сергей"),
    ("Tsarnaev", "Tsarnayev"),
    ("Tsarnaev", "Царнаев"),
    ("Tsarnayev", "Царнаев"),
    ("Dzhokhar Tsarnaev", "Джохар Царнаев"),
    ("Dzhokhar Tsarnaev", "Tsarnaev, Dzhokhar"),
    ("Djokhar Tsarnayev", "Dzhokhar Tsarnaev"),
    ("Mohammed", "Muhammad"),
    ("Mohammed", "محمد"),
    ("Muhammad", "محمد"),
    ("Mohamed", "Muhammad"),
    ("Mohammad", "محمد"),
    ("Yevgeny Prigozhin", "Евгений Пригожин"),
    ("Evgeny Prigozhin", "Yevgeniy Prigozhin"),
    ("Evgueni Prigojine", "Евгений Пригожин"),
    ("Alexei Navalny", "Алексей Навальный"),
    ("Aleksey Navalnyy", "Alexei Navalny"),
    ("Vladimir Putin", "Владимир Путин"),
    ("Dmitry Medvedev", "Дмитрий Медведев"),
    ("Dmitriy Medvedev", "Dmitrii Medvedev"),
    ("Mikhail Gorbachev", "Михаил Горбачёв"),
    ("Mikhail Gorbachov", "Mikhail Gorbachev"),
    ("Michail Gorbatschow", "Mikhail Gorbachev"),
    ("Nikita Khrushchev", "Никита Хрущёв"),
    ("Nikita Khrushchev", "Nikita Khrushchov"),
    ("Boris Yeltsin", "Борис Ельцин"),
    ("Yuri Andropov", "Юрий Андропов"),
    ("Yury Gagarin", "Yuri Gagarin"),
    ("Yuriy Gagarin", "Iurii Gagarin"),
    ("Fyodor Dostoevsky", "Фёдор Достоевский"),
    ("Fyodor Dostoyevsky", "Fedor Dostoevsky"),
    ("Pyotr Ilyich Tchaikovsky", "Пётр Ильич Чайковский"),
    ("Natalya Ivanova", "Наталья Иванова"),
    ("Natalia Ivanova", "Natalya Ivanova"),
    ("Tatyana Tatiana", "Татьяна Tatyana"),
    ("Ilya Yashin", "Илья Яшин"),
    ("Anastasia Ivanova", "Анастасия Иванова"),
    ("Anastasiya Ivanova", "Anastasia Ivanova"),
    ("Gennady Timchenko", "Геннадий Тимченко"),
    ("Gennadiy Timchenko", "Gennady Timchenko"),
    ("Andrei Lugovoi", "Андрей Луговой"),
    ("Andrey Lugovoy", "Andrei Lugovoi"),
    ("Nikolai Patrushev", "Николай Патрушев"),
    ("Nikolay Patrushev", "Nikolai Patrushev"),
    ("Alexander Bortnikov", "Александр Бортников"),
    ("Aleksandr Bortnikov", "Alexander Bortnikov"),
    ("Ramzan Kadyrov", "Рамзан Кадыров"),
    ("Shamil Basayev", "Шамиль Басаев"),
    ("Shamil Basaev", "Shamil Basayev"),
    ("Aslan Maskhadov", "Аслан Масхадов"),
    ("Zelimkhan Yandarbiyev", "Зелимхан Яндарбиев"),
    ("Volodymyr Zelensky", "Володимир Зеленський"),
    ("Mikhail Khodorkovsky", "Михаил Ходорковский"),
    ("Alisher Usmanov", "Алишер Усманов"),
    ("Roman Abramovich", "Роман Абрамович"),
    ("Oleg Deripaska", "Олег Дерипаска"),
    ("Viktor Bout", "Виктор Бут"),
    ("Semion Mogilevich", "Семён Могилевич"),
    ("Anna Politkovskaya", "Анна Политковская"),
    ("Grigory Rasputin", "Григорий Распутин"),
    ("Vitali Klitschko", "Виталий Кличко"),
    ("Sergei Shoigu", "Сергей Шойгу"),
    ("Vladimir Zhirinovsky", "Владимир Жириновский"),
    ("Yekaterina Ivanova", "Ekaterina Ivanova"),
    ("Yelena Ivanova", "Елена Иванова"),
    ("Osama bin Laden", "أسامة بن لادن"),
    ("Usama bin Ladin", "Osama bin Laden"),
    ("Abu Bakr al-Baghdadi", "أبو بكر البغدادي"),
    ("Abdullah Azzam", "عبد الله عزام"),
    ("Khalid Sheikh Mohammed", "خالد شيخ محمد"),
    ("Hassan Nasrallah", "حسن نصر الله"),
    ("Saddam Hussein", "صدام حسين"),
    ("Bashar al-Assad", "بشار الأسد"),
    ("Yasser Arafat", "ياسر عرفات"),
    ("Ahmed Shah Massoud", "أحمد شاه مسعود"),
    ("Hamid Karzai", "حامد كرزي"),
    ("Mustafa", "مصطفى"),
    ("Ibrahim", "إبراهيم"),
    ("Yusuf Islam", "يوسف إسلام"),
    ("Muammar Gaddafi", "معمر القذافي"),
    ("Gamal Abdel Nasser", "جمال عبد الناصر"),
    ("Omar al-Bashir", "عمر البشير"),
];

/// Distinct people; every pair of them must not meet.
const DISTINCT: &[&str] = &[
    "Vladimir Putin",
    "Vladimir Potanin",
    "Dmitry Medvedev",
    "Dmitry Peskov",
    "Sergei Lavrov",
    "Sergei Shoigu",
    "Alexei Navalny",
    "Alexei Kudrin",
    "Mikhail Gorbachev",
    "Mikhail Fridman",
    "Boris Yeltsin",
    "Boris Nemtsov",
    "Yuri Andropov",
    "Yuri Gagarin",
    "Ivan Petrov",
    "Ivan Ivanov",
    "Anna Petrova",
    "Natalia Ivanova",
    "Ramzan Kadyrov",
    "Akhmad Kadyrov",
    "Shamil Basayev",
    "Aslan Maskhadov",
    "Osama bin Laden",
    "Hamza bin Laden",
    "Saddam Hussein",
    "Uday Hussein",
    "Ali Hassan",
    "Ali Hussein",
    "Hassan Rouhani",
    "Hassan Nasrallah",
    "Mohammed Atta",
    "Mohammed Morsi",
    "Ahmed Shah Massoud",
    "Ahmed Zewail",
    "Bashar al-Assad",
    "Hafez al-Assad",
    "Yasser Arafat",
    "Khalid Sheikh Mohammed",
    "Abu Bakr al-Baghdadi",
    "Ayman al-Zawahiri",
    "Hamid Karzai",
    "Ashraf Ghani",
    "Евгений Пригожин",
    "Игорь Стрелков",
    "Алишер Усманов",
    "Олег Дерипаска",
    "عمر البشير",
    "معمر القذافي",
    "جمال عبد الناصر",
    "Igor Sechin",
    "Igor Girkin",
    "Sergei Skripal",
    "Yulia Skripal",
    "Alexander Litvinenko",
    "Marina Litvinenko",
];

fn keys(name: &str) -> BTreeSet<Vec<u8>> {
    let context = Context {
        default_region: Some("GB".parse().unwrap()),
    };
    normalise(SelectorKind::PersonName, name, &context)
        .unwrap()
        .iter()
        .inspect(|key| assert!(key.to_string().starts_with("person/1/")))
        .map(|key| key.to_bytes())
        .collect()
}

fn meet(a: &str, b: &str) -> bool {
    !keys(a).is_disjoint(&keys(b))
}

#[test]
fn spellings_of_one_person_meet_in_at_least_98_percent_of_pairs() {
    assert!(SAME.len() >= 50);
    let missed: Vec<_> = SAME.iter().filter(|(a, b)| !meet(a, b)).collect();
    let rate = 1.0 - missed.len() as f64 / SAME.len() as f64;
    println!(
        "{} of {} pairs meet ({:.1} %); missed: {missed:?}",
        SAME.len() - missed.len(),
        SAME.len(),
        rate * 100.0
    );
    assert!(
        rate >= 0.98,
        "only {:.1} % meet; missed: {missed:?}",
        rate * 100.0
    );
}

#[test]
fn distinct_people_collide_in_at_most_half_a_percent_of_pairs() {
    let mut pairs = 0usize;
    let mut collided = Vec::new();
    for (i, a) in DISTINCT.iter().enumerate() {
        for b in DISTINCT.iter().skip(i + 1) {
            pairs += 1;
            if meet(a, b) {
                collided.push((a, b));
            }
        }
    }
    assert!(pairs >= 200);
    let rate = collided.len() as f64 / pairs as f64;
    println!(
        "{} of {pairs} distinct pairs collide ({:.2} %): {collided:?}",
        collided.len(),
        rate * 100.0
    );
    assert!(rate <= 0.005, "{:.2} % collide: {collided:?}", rate * 100.0);
}

#[test]
fn no_name_has_more_than_four_keys() {
    for name in SAME.iter().flat_map(|(a, b)| [a, b]).chain(DISTINCT) {
        assert!((1..=4).contains(&keys(name).len()), "{name}");
    }
}
