"""Name material for synthetic Javanese/Indonesian persons and streets."""

MALE_FIRST = [
    "Muhammad", "Ahmad", "Budi", "Agus", "Eko", "Joko", "Bambang", "Slamet", "Hadi", "Sugeng", "Dwi", "Rudi",
    "Andi", "Rizki", "Fajar", "Dimas", "Yusuf", "Abdul", "Imam", "Arif", "Hendra", "Wahyu", "Teguh", "Adi",
    "Bagus", "Galih", "Heru", "Iwan", "Kurniawan", "Lukman", "Nur", "Rahmat", "Sutrisno", "Suparman",
    "Sukarno", "Suroso", "Taufik", "Yoga", "Zainal", "Fauzi", "Hasan", "Husein", "Ilham", "Reza", "Aditya",
]
FEMALE_FIRST = [
    "Siti", "Sri", "Dewi", "Nur", "Ani", "Wati", "Rina", "Yuli", "Endang", "Tri", "Lestari", "Indah",
    "Fitri", "Ayu", "Putri", "Nanik", "Sumiati", "Suryani", "Kartini", "Dian", "Eka", "Novi", "Ratna",
    "Rahayu", "Aminah", "Fatimah", "Aisyah", "Khotimah", "Maryam", "Anisa", "Nurul", "Laila", "Wulan",
    "Puji", "Rini", "Sulastri", "Tutik", "Umi", "Yanti", "Zahra", "Mega", "Nia", "Septi", "Winarti",
]
SECOND = [
    "Santoso", "Wahyudi", "Hidayat", "Setiawan", "Prasetyo", "Saputra", "Kurniawati", "Lestari", "Rahayu",
    "Susanti", "Wijaya", "Hartono", "Suharto", "Sudarmaji", "Purnomo", "Firmansyah", "Hakim", "Maulana",
    "Ramadhan", "Nugroho", "Pratama", "Utomo", "Handayani", "Wulandari", "Puspitasari", "Anggraini",
    "Mustofa", "Syaifullah", "Rohman", "Hasanah", "Safitri", "Kusuma", "Permana", "Suwarno", "Sutopo",
    "Sujono", "Widodo", "Yulianto", "Cahyono", "Iskandar", "Junaidi", "Ma'ruf", "Fadilah", "Zulkarnain",
]
STREETS = [
    "Ijen", "Soekarno Hatta", "Sumbersari", "Gajayana", "Bendungan Sutami", "Mayjen Panjaitan", "Kawi",
    "Semeru", "Bromo", "Arjuno", "Welirang", "Tlogomas", "Joyo Agung", "Kalpataru", "Borobudur", "Letjen S Parman",
    "Ahmad Yani", "Raden Intan", "Danau Toba", "Sawojajar", "Ranugrati", "Mayjen Sungkono", "Kolonel Sugiono",
    "Gadang", "Satsui Tubun", "Janti", "Kebalen Wetan", "Laksamana Martadinata", "Sukarno", "Bandung",
    "Veteran", "Merbabu", "Terusan Dieng", "Galunggung", "Raya Candi", "Sudimoro", "Simpang Borobudur",
    "Kyai Tamin", "Halmahera", "Irian Jaya", "Mergan Lori", "Klayatan", "Bandulan", "Tidar", "Puncak Dieng",
]
BIRTH_PLACES_LOCAL = ["MALANG", "MALANG", "MALANG", "MALANG", "KAB. MALANG", "BATU"]
BIRTH_PLACES_OTHER = ["SURABAYA", "BLITAR", "PASURUAN", "KEDIRI", "PROBOLINGGO", "JEMBER", "LUMAJANG",
                      "TULUNGAGUNG", "MOJOKERTO", "JAKARTA", "BANYUWANGI", "MADIUN"]

# Spelling/title variants an agency clerk produces (old spellings: oe->u, dj->j, tj->c reversed here).
TITLE_PREFIX_MALE = ["H.", "Drs.", "Ir.", "KH."]
TITLE_PREFIX_FEMALE = ["Hj.", "Dra."]
TITLE_SUFFIX = ["S.Pd.", "S.E.", "S.H.", "A.Md.", "S.Kom."]
FIRST_NAME_VARIANTS = {
    "Muhammad": ["Moch.", "Mochammad", "Moh.", "M.", "Muhamad", "Mohammad", "Muh."],
    "Ahmad": ["Achmad", "Akhmad"],
    "Abdul": ["Abd."],
    "Nur": ["Noer"],
    "Sukarno": ["Soekarno"],
    "Sutrisno": ["Soetrisno"],
    "Suparman": ["Soeparman"],
    "Suroso": ["Soeroso"],
    "Yusuf": ["Jusuf", "Yusup"],
    "Siti": ["Sitti"],
    "Sri": ["Sry"],
    "Taufik": ["Taufiq"],
    "Fatimah": ["Fatimatuz"],
    "Joko": ["Djoko"],
    "Sujono": ["Soedjono", "Sudjono"],
    "Iskandar": ["Iskandar"],
}
